/* The ABI facts of fields.h, from petct's own declarations. */
#include <stddef.h>
#include "CCharLS.h"
#include "COpenJPEG.h"
#define F(x) (long long)(x),
const long long petct_layout[] = {
#include "fields.h"
};
