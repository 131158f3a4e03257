/* The part of CharLS 2.x's C API (JPEG-LS) that petct uses, declared here so that petct builds without
 * the CharLS headers and runs without the library: libcharls.so.2 is opened with dlopen on first use.
 *
 * Types and constants follow CharLS's documented, stable 2.x C ABI (charls/public_types.h,
 * charls/charls_jpegls_decoder.h). Their layout is compared with the installed headers by
 * python/tests/test_codec_libraries.py. The functions are static inline forwarders to pointers filled
 * by codecshim_charls_load(). charls_jpegls_decoder_create() loads the library itself and returns NULL
 * when it is missing; the other functions need a decoder, so they run only after a successful load.
 */
#ifndef PETCT_CCHARLS_H
#define PETCT_CCHARLS_H

#include <stddef.h>
#include <stdint.h>

typedef struct charls_jpegls_decoder charls_jpegls_decoder;

/* Error codes: 0 is success; the others are only reported (via charls_get_error_message). */
typedef enum charls_jpegls_errc { CHARLS_JPEGLS_ERRC_SUCCESS = 0 } charls_jpegls_errc;

typedef enum charls_interleave_mode {
    CHARLS_INTERLEAVE_MODE_NONE = 0,
    CHARLS_INTERLEAVE_MODE_LINE = 1,
    CHARLS_INTERLEAVE_MODE_SAMPLE = 2
} charls_interleave_mode;

typedef struct charls_frame_info {
    uint32_t width;
    uint32_t height;
    int32_t bits_per_sample;
    int32_t component_count;
} charls_frame_info;

/* Function pointers, filled from the library by codecshim_charls_load(). */
struct codecshim_charls_api {
    const char *(*get_version_string)(void);
    const char *(*get_error_message)(int32_t error_value);
    charls_jpegls_decoder *(*decoder_create)(void);
    void (*decoder_destroy)(const charls_jpegls_decoder *decoder);
    int32_t (*decoder_set_source_buffer)(charls_jpegls_decoder *decoder, const void *source, size_t size);
    int32_t (*decoder_read_header)(charls_jpegls_decoder *decoder);
    int32_t (*decoder_get_frame_info)(const charls_jpegls_decoder *decoder, charls_frame_info *info);
    int32_t (*decoder_get_interleave_mode)(const charls_jpegls_decoder *decoder, int32_t *mode);
    int32_t (*decoder_get_destination_size)(const charls_jpegls_decoder *decoder, uint32_t stride,
                                            size_t *size);
    int32_t (*decoder_decode_to_buffer)(const charls_jpegls_decoder *decoder, void *destination, size_t size,
                                        uint32_t stride);
};
extern struct codecshim_charls_api codecshim_charls;

/* Opens the library once (thread-safe). Returns 1 when usable; *why (if not NULL) then points to the
 * loaded file's path, else to a static text saying what was tried. */
int codecshim_charls_load(const char **why);

#ifndef CODECSHIM_NO_FORWARDERS
static inline const char *
charls_get_version_string(void)
{
    return codecshim_charls.get_version_string();
}
static inline const char *
charls_get_error_message(charls_jpegls_errc e)
{
    return codecshim_charls.get_error_message((int32_t)e);
}
/* The decoder's first call: opens the library if needed, NULL when it is missing. */
static inline charls_jpegls_decoder *
charls_jpegls_decoder_create(void)
{
    return codecshim_charls_load(0) ? codecshim_charls.decoder_create() : 0;
}
static inline void
charls_jpegls_decoder_destroy(const charls_jpegls_decoder *d)
{
    codecshim_charls.decoder_destroy(d);
}
static inline charls_jpegls_errc
charls_jpegls_decoder_set_source_buffer(charls_jpegls_decoder *d, const void *src, size_t size)
{
    return (charls_jpegls_errc)codecshim_charls.decoder_set_source_buffer(d, src, size);
}
static inline charls_jpegls_errc
charls_jpegls_decoder_read_header(charls_jpegls_decoder *d)
{
    return (charls_jpegls_errc)codecshim_charls.decoder_read_header(d);
}
static inline charls_jpegls_errc
charls_jpegls_decoder_get_frame_info(const charls_jpegls_decoder *d, charls_frame_info *info)
{
    return (charls_jpegls_errc)codecshim_charls.decoder_get_frame_info(d, info);
}
static inline charls_jpegls_errc
charls_jpegls_decoder_get_interleave_mode(const charls_jpegls_decoder *d, charls_interleave_mode *mode)
{
    int32_t m = 0;
    int32_t rc = codecshim_charls.decoder_get_interleave_mode(d, &m);
    *mode = (charls_interleave_mode)m;
    return (charls_jpegls_errc)rc;
}
static inline charls_jpegls_errc
charls_jpegls_decoder_get_destination_size(const charls_jpegls_decoder *d, uint32_t stride, size_t *size)
{
    return (charls_jpegls_errc)codecshim_charls.decoder_get_destination_size(d, stride, size);
}
static inline charls_jpegls_errc
charls_jpegls_decoder_decode_to_buffer(const charls_jpegls_decoder *d, void *dst, size_t size,
                                       uint32_t stride)
{
    return (charls_jpegls_errc)codecshim_charls.decoder_decode_to_buffer(d, dst, size, stride);
}
#endif

#endif
