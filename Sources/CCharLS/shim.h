// CharLS (JPEG-LS), Debian package libcharls-dev.
#include <charls/charls.h>
