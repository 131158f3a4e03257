/* The ABI facts of fields.h, from the libraries' installed headers. */
#include <stddef.h>
#include <charls/charls.h>
#include <openjpeg-2.5/openjpeg.h>
#define F(x) (long long)(x),
const long long installed_layout[] = {
#include "fields.h"
};
