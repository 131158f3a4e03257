/* Keeps libpetct.so (and so the wheel) at glibc 2.34.
 *
 * glibc 2.35 gave hypotf a new symbol version (hypotf@GLIBC_2.35). The Swift Glibc overlay, linked
 * statically, references hypotf, and that one reference alone would raise the floor of the whole
 * library from glibc 2.34 (the pthread functions the Swift runtime uses moved into libc in 2.34) to
 * 2.35. This definition satisfies the reference inside libpetct.so; it is not exported (exports.map
 * keeps only petct_*). Computed in double, where the squares of any two floats neither overflow nor
 * lose bits. */
#include <math.h>

float
hypotf(float x, float y)
{
    if (isinf(x) || isinf(y))
        return INFINITY;
    double dx = x, dy = y;
    return (float)sqrt(dx * dx + dy * dy);
}
