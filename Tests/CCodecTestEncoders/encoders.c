#include "CCodecTestEncoders.h"
#include <charls/charls.h>
#include <openjpeg-2.5/openjpeg.h>
#include <stdlib.h>
#include <string.h>

void
test_encoded_free(void *p)
{
    free(p);
}

unsigned char *
test_jls_encode(const void *samples, size_t size, int cols, int rows, int bits, int nf, int near_lossless,
                int interleave_mode, size_t *out_size)
{
    charls_jpegls_encoder *enc = charls_jpegls_encoder_create();
    if (!enc)
        return NULL;
    unsigned char *out = NULL;
    charls_frame_info info = {(uint32_t)cols, (uint32_t)rows, bits, nf};
    size_t cap = 0, written = 0;
    if (charls_jpegls_encoder_set_frame_info(enc, &info))
        goto fail;
    if (charls_jpegls_encoder_set_near_lossless(enc, near_lossless))
        goto fail;
    if (nf > 1 && charls_jpegls_encoder_set_interleave_mode(enc, (charls_interleave_mode)interleave_mode))
        goto fail;
    if (charls_jpegls_encoder_get_estimated_destination_size(enc, &cap))
        goto fail;
    out = malloc(cap ? cap : 1);
    if (!out)
        goto fail;
    if (charls_jpegls_encoder_set_destination_buffer(enc, out, cap))
        goto fail;
    if (charls_jpegls_encoder_encode_from_buffer(enc, samples, size, 0))
        goto fail;
    if (charls_jpegls_encoder_get_bytes_written(enc, &written))
        goto fail;
    charls_jpegls_encoder_destroy(enc);
    *out_size = written;
    return out;
fail:
    free(out);
    charls_jpegls_encoder_destroy(enc);
    return NULL;
}

struct sink {
    unsigned char *bytes;
    size_t size, cap, position;
};

static int
sink_reserve(struct sink *s, size_t end)
{
    if (end > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < end)
            cap *= 2;
        unsigned char *b = realloc(s->bytes, cap);
        if (!b)
            return 0;
        memset(b + s->cap, 0, cap - s->cap);
        s->bytes = b;
        s->cap = cap;
    }
    if (end > s->size)
        s->size = end;
    return 1;
}

static OPJ_SIZE_T
sink_write(void *buf, OPJ_SIZE_T n, void *user)
{
    struct sink *s = user;
    if (!sink_reserve(s, s->position + n))
        return (OPJ_SIZE_T)-1;
    memcpy(s->bytes + s->position, buf, n);
    s->position += n;
    return n;
}

static OPJ_OFF_T
sink_skip(OPJ_OFF_T n, void *user)
{
    struct sink *s = user;
    if (!sink_reserve(s, s->position + (size_t)n))
        return -1;
    s->position += (size_t)n;
    return n;
}

static OPJ_BOOL
sink_seek(OPJ_OFF_T to, void *user)
{
    struct sink *s = user;
    if (!sink_reserve(s, (size_t)to))
        return OPJ_FALSE;
    s->position = (size_t)to;
    return OPJ_TRUE;
}

unsigned char *
test_j2k_encode(const int32_t *values, int rows, int cols, int nf, int bits, int sgnd, int jp2, int lossy,
                int mct, size_t *out_size)
{
    opj_image_cmptparm_t parms[4];
    if (nf < 1 || nf > 4)
        return NULL;
    memset(parms, 0, sizeof parms);
    for (int c = 0; c < nf; c++) {
        parms[c].dx = 1;
        parms[c].dy = 1;
        parms[c].w = (OPJ_UINT32)cols;
        parms[c].h = (OPJ_UINT32)rows;
        parms[c].prec = (OPJ_UINT32)bits;
        parms[c].sgnd = (OPJ_UINT32)(sgnd != 0);
    }
    opj_image_t *image = opj_image_create((OPJ_UINT32)nf, parms, nf == 3 ? OPJ_CLRSPC_SRGB : OPJ_CLRSPC_GRAY);
    if (!image)
        return NULL;
    image->x0 = 0;
    image->y0 = 0;
    image->x1 = (OPJ_UINT32)cols;
    image->y1 = (OPJ_UINT32)rows;
    for (int c = 0; c < nf; c++)
        for (int p = 0; p < rows * cols; p++)
            image->comps[c].data[p] = values[p * nf + c];
    opj_cparameters_t params;
    opj_set_default_encoder_parameters(&params);
    /* Up to 3 resolution levels; tiny images need fewer (each level halves the size). */
    int levels = 1, smaller = rows < cols ? rows : cols;
    while (levels < 3 && (1 << levels) <= smaller)
        levels++;
    params.numresolution = levels;
    params.tcp_numlayers = 1;
    params.cp_disto_alloc = 1;
    params.tcp_rates[0] = lossy ? 4 : 0;
    params.irreversible = lossy ? 1 : 0;
    params.tcp_mct = (char)(nf == 3 && mct ? 1 : 0);
    struct sink sink = {0};
    unsigned char *result = NULL;
    opj_codec_t *codec = opj_create_compress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
    opj_stream_t *stream = opj_stream_create(64 * 1024, OPJ_FALSE);
    if (codec && stream && opj_setup_encoder(codec, &params, image)) {
        opj_stream_set_user_data(stream, &sink, NULL);
        opj_stream_set_write_function(stream, sink_write);
        opj_stream_set_skip_function(stream, sink_skip);
        opj_stream_set_seek_function(stream, sink_seek);
        if (opj_start_compress(codec, image, stream) && opj_encode(codec, stream) &&
            opj_end_compress(codec, stream)) {
            result = sink.bytes;
            *out_size = sink.size;
            sink.bytes = NULL;
        }
    }
    if (stream)
        opj_stream_destroy(stream);
    if (codec)
        opj_destroy_codec(codec);
    opj_image_destroy(image);
    free(sink.bytes);
    return result;
}
