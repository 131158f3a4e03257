/* Test-only encoders (CharLS, OpenJPEG) that make the streams the Swift codec tests decode. Built
 * against the libraries' installed headers; kept out of the public header so the tests can also see
 * petct's own declarations of the decoder API (CCharLS, COpenJPEG). */
#ifndef CCODEC_TEST_ENCODERS_H
#define CCODEC_TEST_ENCODERS_H
#include <stddef.h>
#include <stdint.h>

/* JPEG-LS from `size` bytes of samples (1 byte each up to 8 bits, else 2, little-endian), interleaved
 * as `interleave_mode` says (0 none = planar, 1 line, 2 sample). Returns a malloc'd stream (free with
 * free()) and its length in *out_size, or NULL. */
unsigned char *test_jls_encode(const void *samples, size_t size, int cols, int rows, int bits, int nf,
                               int near_lossless, int interleave_mode, size_t *out_size);

/* JPEG 2000 (codestream, or JP2 when jp2 != 0) of interleaved values, lossless 5/3 or lossy 9/7. */
unsigned char *test_j2k_encode(const int32_t *values, int rows, int cols, int nf, int bits, int sgnd, int jp2,
                               int lossy, int mct, size_t *out_size);

void test_encoded_free(void *p);
#endif
