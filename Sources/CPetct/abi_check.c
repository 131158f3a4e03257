/* Compile-time checks of the ABI structures shared by Swift and the CPython extension. */
#include "petct.h"

_Static_assert(sizeof(petct_element) == 40, "petct_element layout changed");
_Static_assert(sizeof(petct_error) == 1056, "petct_error layout changed");
