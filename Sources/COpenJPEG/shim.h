// OpenJPEG 2.5 (JPEG 2000 and HTJ2K decoding), Debian package libopenjp2-7-dev.
#include <openjpeg-2.5/openjpeg.h>
