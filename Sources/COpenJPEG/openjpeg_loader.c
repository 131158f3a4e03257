/* Opens OpenJPEG at run time (see include/COpenJPEG.h). */
#define _GNU_SOURCE /* dlinfo */
#include "COpenJPEG.h"
#include "../CodecShim/codecshim_open.h"

struct codecshim_openjpeg_api codecshim_openjpeg;

/* The 2.x soname (the ABI petct declares); HTJ2K additionally needs 2.5 (checked in DicomCodecs). */
static const char *const names[] = {"libopenjp2.so.7", 0};

#define SYM(field) {"opj_" #field, (void **)&codecshim_openjpeg.field}
static const struct codecshim_symbol symbols[] = {
    SYM(version),
    SYM(stream_create),
    SYM(stream_destroy),
    SYM(stream_set_user_data),
    SYM(stream_set_user_data_length),
    SYM(stream_set_read_function),
    SYM(stream_set_skip_function),
    SYM(stream_set_seek_function),
    SYM(create_decompress),
    SYM(destroy_codec),
    SYM(set_error_handler),
    SYM(set_warning_handler),
    SYM(set_info_handler),
    SYM(set_default_decoder_parameters),
    SYM(setup_decoder),
    SYM(read_header),
    SYM(image_destroy),
    SYM(has_thread_support),
    SYM(codec_set_threads),
    SYM(decode),
    SYM(end_decompress),
    {0, 0},
};

static struct codecshim_library library = {"OpenJPEG", names, symbols};

int
codecshim_openjpeg_load(const char **why)
{
    return codecshim_open(&library, why);
}
