/* The part of OpenJPEG 2.5's C API (JPEG 2000 / HTJ2K decoding) that petct uses, declared here so that
 * petct builds without the OpenJPEG headers and runs without the library: libopenjp2.so.7 is opened
 * with dlopen on first use.
 *
 * Types and constants follow OpenJPEG's documented 2.x C ABI (openjpeg.h); their layout is compared
 * with the installed headers by python/tests/test_codec_libraries.py. The functions are static
 * inline forwarders to pointers filled by codecshim_openjpeg_load(). opj_stream_create() loads the
 * library itself and returns NULL when it is missing; the decoder calls everything else only after it.
 */
#ifndef PETCT_COPENJPEG_H
#define PETCT_COPENJPEG_H

#include <stddef.h>
#include <stdint.h>

typedef int OPJ_BOOL;
typedef int32_t OPJ_INT32;
typedef uint32_t OPJ_UINT32;
typedef uint16_t OPJ_UINT16;
typedef uint64_t OPJ_UINT64;
typedef unsigned char OPJ_BYTE;
typedef int64_t OPJ_OFF_T;
typedef size_t OPJ_SIZE_T;

typedef enum COLOR_SPACE {
    OPJ_CLRSPC_UNKNOWN = -1,
    OPJ_CLRSPC_UNSPECIFIED = 0,
    OPJ_CLRSPC_SRGB = 1,
    OPJ_CLRSPC_GRAY = 2,
    OPJ_CLRSPC_SYCC = 3,
    OPJ_CLRSPC_EYCC = 4,
    OPJ_CLRSPC_CMYK = 5
} OPJ_COLOR_SPACE;

typedef enum CODEC_FORMAT {
    OPJ_CODEC_UNKNOWN = -1,
    OPJ_CODEC_J2K = 0,
    OPJ_CODEC_JPT = 1,
    OPJ_CODEC_JP2 = 2
} OPJ_CODEC_FORMAT;

/* Decoder parameters: petct only lets the library fill them (opj_set_default_decoder_parameters). */
typedef struct opj_dparameters {
    OPJ_UINT32 cp_reduce;
    OPJ_UINT32 cp_layer;
    char infile[4096];
    char outfile[4096];
    int decod_format;
    int cod_format;
    OPJ_UINT32 DA_x0;
    OPJ_UINT32 DA_x1;
    OPJ_UINT32 DA_y0;
    OPJ_UINT32 DA_y1;
    OPJ_BOOL m_verbose;
    OPJ_UINT32 tile_index;
    OPJ_UINT32 nb_tile_to_decode;
    OPJ_BOOL jpwl_correct;
    int jpwl_exp_comps;
    int jpwl_max_tiles;
    unsigned int flags;
} opj_dparameters_t;

typedef struct opj_image_comp {
    OPJ_UINT32 dx;
    OPJ_UINT32 dy;
    OPJ_UINT32 w;
    OPJ_UINT32 h;
    OPJ_UINT32 x0;
    OPJ_UINT32 y0;
    OPJ_UINT32 prec;
    OPJ_UINT32 bpp; /* deprecated upstream, still in the layout */
    OPJ_UINT32 sgnd;
    OPJ_UINT32 resno_decoded;
    OPJ_UINT32 factor;
    OPJ_INT32 *data;
    OPJ_UINT16 alpha;
} opj_image_comp_t;

typedef struct opj_image {
    OPJ_UINT32 x0;
    OPJ_UINT32 y0;
    OPJ_UINT32 x1;
    OPJ_UINT32 y1;
    OPJ_UINT32 numcomps;
    OPJ_COLOR_SPACE color_space;
    opj_image_comp_t *comps;
    OPJ_BYTE *icc_profile_buf;
    OPJ_UINT32 icc_profile_len;
} opj_image_t;

typedef void *opj_codec_t;
typedef void *opj_stream_t;
typedef void (*opj_msg_callback)(const char *msg, void *client_data);
typedef OPJ_SIZE_T (*opj_stream_read_fn)(void *buffer, OPJ_SIZE_T nb_bytes, void *user_data);
typedef OPJ_OFF_T (*opj_stream_skip_fn)(OPJ_OFF_T nb_bytes, void *user_data);
typedef OPJ_BOOL (*opj_stream_seek_fn)(OPJ_OFF_T nb_bytes, void *user_data);
typedef void (*opj_stream_free_user_data_fn)(void *user_data);

/* Function pointers, filled from the library by codecshim_openjpeg_load(). */
struct codecshim_openjpeg_api {
    const char *(*version)(void);
    opj_stream_t *(*stream_create)(OPJ_SIZE_T buffer_size, OPJ_BOOL is_input);
    void (*stream_destroy)(opj_stream_t *stream);
    void (*stream_set_user_data)(opj_stream_t *stream, void *data, opj_stream_free_user_data_fn free_fn);
    void (*stream_set_user_data_length)(opj_stream_t *stream, OPJ_UINT64 length);
    void (*stream_set_read_function)(opj_stream_t *stream, opj_stream_read_fn fn);
    void (*stream_set_skip_function)(opj_stream_t *stream, opj_stream_skip_fn fn);
    void (*stream_set_seek_function)(opj_stream_t *stream, opj_stream_seek_fn fn);
    opj_codec_t *(*create_decompress)(OPJ_CODEC_FORMAT format);
    void (*destroy_codec)(opj_codec_t *codec);
    OPJ_BOOL (*set_error_handler)(opj_codec_t *codec, opj_msg_callback fn, void *user_data);
    OPJ_BOOL (*set_warning_handler)(opj_codec_t *codec, opj_msg_callback fn, void *user_data);
    OPJ_BOOL (*set_info_handler)(opj_codec_t *codec, opj_msg_callback fn, void *user_data);
    void (*set_default_decoder_parameters)(opj_dparameters_t *parameters);
    OPJ_BOOL (*setup_decoder)(opj_codec_t *codec, opj_dparameters_t *parameters);
    OPJ_BOOL (*read_header)(opj_stream_t *stream, opj_codec_t *codec, opj_image_t **image);
    void (*image_destroy)(opj_image_t *image);
    OPJ_BOOL (*has_thread_support)(void);
    OPJ_BOOL (*codec_set_threads)(opj_codec_t *codec, int num_threads);
    OPJ_BOOL (*decode)(opj_codec_t *codec, opj_stream_t *stream, opj_image_t *image);
    OPJ_BOOL (*end_decompress)(opj_codec_t *codec, opj_stream_t *stream);
};
extern struct codecshim_openjpeg_api codecshim_openjpeg;

/* Opens the library once (thread-safe). Returns 1 when usable; *why (if not NULL) then points to the
 * loaded file's path, else to a static text saying what was tried. */
int codecshim_openjpeg_load(const char **why);

#ifndef CODECSHIM_NO_FORWARDERS
#define CODECSHIM_OPJ (codecshim_openjpeg)
static inline const char *
opj_version(void)
{
    return CODECSHIM_OPJ.version();
}
/* The decoder's first call: opens the library if needed, NULL when it is missing. */
static inline opj_stream_t *
opj_stream_create(OPJ_SIZE_T n, OPJ_BOOL is_input)
{
    return codecshim_openjpeg_load(0) ? CODECSHIM_OPJ.stream_create(n, is_input) : 0;
}
static inline void
opj_stream_destroy(opj_stream_t *s)
{
    CODECSHIM_OPJ.stream_destroy(s);
}
static inline void
opj_stream_set_user_data(opj_stream_t *s, void *data, opj_stream_free_user_data_fn f)
{
    CODECSHIM_OPJ.stream_set_user_data(s, data, f);
}
static inline void
opj_stream_set_user_data_length(opj_stream_t *s, OPJ_UINT64 n)
{
    CODECSHIM_OPJ.stream_set_user_data_length(s, n);
}
static inline void
opj_stream_set_read_function(opj_stream_t *s, opj_stream_read_fn f)
{
    CODECSHIM_OPJ.stream_set_read_function(s, f);
}
static inline void
opj_stream_set_skip_function(opj_stream_t *s, opj_stream_skip_fn f)
{
    CODECSHIM_OPJ.stream_set_skip_function(s, f);
}
static inline void
opj_stream_set_seek_function(opj_stream_t *s, opj_stream_seek_fn f)
{
    CODECSHIM_OPJ.stream_set_seek_function(s, f);
}
static inline opj_codec_t *
opj_create_decompress(OPJ_CODEC_FORMAT format)
{
    return CODECSHIM_OPJ.create_decompress(format);
}
static inline void
opj_destroy_codec(opj_codec_t *c)
{
    CODECSHIM_OPJ.destroy_codec(c);
}
static inline OPJ_BOOL
opj_set_error_handler(opj_codec_t *c, opj_msg_callback f, void *user)
{
    return CODECSHIM_OPJ.set_error_handler(c, f, user);
}
static inline OPJ_BOOL
opj_set_warning_handler(opj_codec_t *c, opj_msg_callback f, void *user)
{
    return CODECSHIM_OPJ.set_warning_handler(c, f, user);
}
static inline OPJ_BOOL
opj_set_info_handler(opj_codec_t *c, opj_msg_callback f, void *user)
{
    return CODECSHIM_OPJ.set_info_handler(c, f, user);
}
static inline void
opj_set_default_decoder_parameters(opj_dparameters_t *p)
{
    CODECSHIM_OPJ.set_default_decoder_parameters(p);
}
static inline OPJ_BOOL
opj_setup_decoder(opj_codec_t *c, opj_dparameters_t *p)
{
    return CODECSHIM_OPJ.setup_decoder(c, p);
}
static inline OPJ_BOOL
opj_read_header(opj_stream_t *s, opj_codec_t *c, opj_image_t **image)
{
    return CODECSHIM_OPJ.read_header(s, c, image);
}
static inline void
opj_image_destroy(opj_image_t *image)
{
    CODECSHIM_OPJ.image_destroy(image);
}
static inline OPJ_BOOL
opj_has_thread_support(void)
{
    return CODECSHIM_OPJ.has_thread_support();
}
static inline OPJ_BOOL
opj_codec_set_threads(opj_codec_t *c, int n)
{
    return CODECSHIM_OPJ.codec_set_threads(c, n);
}
static inline OPJ_BOOL
opj_decode(opj_codec_t *c, opj_stream_t *s, opj_image_t *image)
{
    return CODECSHIM_OPJ.decode(c, s, image);
}
static inline OPJ_BOOL
opj_end_decompress(opj_codec_t *c, opj_stream_t *s)
{
    return CODECSHIM_OPJ.end_decompress(c, s);
}
#endif

#endif
