/* Opens CharLS at run time (see include/CCharLS.h). */
#define _GNU_SOURCE /* dlinfo */
#include "CCharLS.h"
#include "../CodecShim/codecshim_open.h"

struct codecshim_charls_api codecshim_charls;

/* Only the 2.x soname, whose C ABI petct declares: another major version may change signatures. */
static const char *const names[] = {"libcharls.so.2", 0};

#define SYM(name, field) {name, (void **)&codecshim_charls.field}
static const struct codecshim_symbol symbols[] = {
    SYM("charls_get_version_string", get_version_string),
    SYM("charls_get_error_message", get_error_message),
    SYM("charls_jpegls_decoder_create", decoder_create),
    SYM("charls_jpegls_decoder_destroy", decoder_destroy),
    SYM("charls_jpegls_decoder_set_source_buffer", decoder_set_source_buffer),
    SYM("charls_jpegls_decoder_read_header", decoder_read_header),
    SYM("charls_jpegls_decoder_get_frame_info", decoder_get_frame_info),
    SYM("charls_jpegls_decoder_get_interleave_mode", decoder_get_interleave_mode),
    SYM("charls_jpegls_decoder_get_destination_size", decoder_get_destination_size),
    SYM("charls_jpegls_decoder_decode_to_buffer", decoder_decode_to_buffer),
    {0, 0},
};

static struct codecshim_library library = {"CharLS", names, symbols};

int
codecshim_charls_load(const char **why)
{
    return codecshim_open(&library, why);
}
