/*
 * petct.h - the C ABI of the petct Swift core (hand-written; implemented by
 * Sources/PetctExport/Exports.swift with @_cdecl).
 *
 * Rules of the boundary:
 *  - Every function returns int32_t status (PETCT_OK == 0) unless stated; on failure it fills
 *    *err (if err != NULL) with a code, the byte offset, the tag and a UTF-8 message.
 *  - Objects created by Swift (petct_dataset, petct_scan, petct_volume) are opaque and are released
 *    with their petct_*_free function; nothing else frees them.
 *  - Pixel and volume buffers are allocated by the caller (Python/NumPy) and filled by Swift.
 *  - Functions never call back into the caller and never touch Python objects, so callers may
 *    release the GIL around any of them. Distinct objects may be used from different threads at once;
 *    a single object is safe for concurrent read-only calls.
 */
#ifndef PETCT_H
#define PETCT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PETCT_ABI_VERSION 9

/* ---- status / error codes ---------------------------------------------------------------- */
enum {
    PETCT_OK = 0,
    PETCT_E_INVALID_DICOM = 1,  /* input is not DICOM (no DICM and not parseable with force) */
    PETCT_E_MALFORMED = 2,      /* DICOM, but truncated or structurally invalid */
    PETCT_E_UNSUPPORTED_TS = 3, /* transfer syntax / codec not supported */
    PETCT_E_IO = 4,             /* open/read failure */
    PETCT_E_SUV = 5,            /* SUV cannot be computed (missing/invalid inputs) */
    PETCT_E_GEOMETRY = 6,       /* inconsistent or missing geometry */
    PETCT_E_ARGUMENT = 7,       /* bad argument from the caller (buffer size, index, ...) */
    PETCT_E_NO_PIXELS = 8,      /* dataset has no pixel data */
    PETCT_E_INTERNAL = 9,
    PETCT_E_LIMIT = 10,     /* a petct_limits limit was reached (decoded bytes, stream bytes) */
    PETCT_E_CANCELLED = 11, /* the caller's cancel flag was set */
    PETCT_E_NO_MEMORY = 12  /* an allocation (already bounded by the input and the limits) failed */
};

#define PETCT_NO_TAG 0xFFFFFFFFu

typedef struct petct_error {
    int32_t code;     /* one of PETCT_E_* */
    uint32_t tag;     /* (group << 16) | element, or PETCT_NO_TAG */
    int64_t offset;   /* byte offset in the (decompressed) file, or -1 */
    int32_t os_errno; /* errno of the failed system call for PETCT_E_IO (EACCES, EISDIR, ...), else 0 */
    int32_t reserved;
    int64_t item_index; /* list calls: index of the failing path (petct_volume_open: in `paths`;
                              petct_volume_fill: the first slice of that file in the volume's "files"), or -1 */
    char message[1024]; /* UTF-8, NUL-terminated; bytes of paths that are not UTF-8 appear as \xNN */
} petct_error;

/* ---- limits and cancellation ------------------------------------------------------------ */
/* Process-wide limits (defaults in brackets). One compressed unit (a frame of encapsulated pixel data,
 * a deflated data set) may decode to at most max(max_decoded_bytes [64 MiB], decode_ratio [200] x its
 * compressed bytes); checked from the header and the codestream before the output is allocated.
 * max_stream_bytes [256 MiB] caps what is read from a pipe, FIFO or device (or past the size of a file
 * that grows while read). A zero field leaves that limit unchanged. */
typedef struct petct_limits {
    uint64_t max_decoded_bytes;
    uint64_t decode_ratio;
    uint64_t max_stream_bytes;
} petct_limits;
void petct_set_limits(const petct_limits *limits);
void petct_get_limits(petct_limits *out);

/* Long calls take `cancel` (nullable): the caller sets *cancel to non-zero from another thread to stop
 * the call between files, slices and frames; it then returns PETCT_E_CANCELLED, with nothing of the
 * caller's written except the (partially filled) output buffer it passed. */

/* Paths: every `const char *path` is passed to open() as the bytes given (any encoding). Paths the
 * core returns in JSON are UTF-8 with each byte that is not valid UTF-8 written as the private-use
 * character U+10FF00 + byte (also each byte of a character U+10FF00..U+10FFFF in the path): mapping
 * those back to bytes gives the path bytes exactly. */

/* ---- reading a single DICOM file ---------------------------------------------------------- */
#define PETCT_READ_STOP_BEFORE_PIXELS 0x1u /* stop at (7FE0,0010) without reading it */
#define PETCT_READ_FORCE              0x2u /* like pydicom force=True: no preamble/meta needed */
#define PETCT_READ_NO_CHARSET         0x4u /* keep text as raw bytes (kind RAW_TEXT) */

typedef struct petct_dataset petct_dataset;

/* A pipe, FIFO or device is read as a stream (up to max_stream_bytes); `cancel` (nullable) stops a read
 * that waits on a stalled writer. */
int32_t petct_read_file(const char *path, uint32_t flags, const int32_t *cancel, petct_dataset **out,
                        petct_error *err);
int32_t petct_read_buffer(const uint8_t *data, size_t length, uint32_t flags, petct_dataset **out,
                          petct_error *err);
void petct_dataset_free(petct_dataset *ds);

/* Value kinds of petct_element.kind */
enum {
    PETCT_KIND_EMPTY = 0,    /* zero-length value (or only padding) */
    PETCT_KIND_TEXT = 1,     /* UTF-8 text in heap; values separated by '\\' for multi-valued VRs;
                                 padding already stripped as pydicom does; count = number of values */
    PETCT_KIND_INT = 2,      /* count int64 in heap (US, SS, UL, SL, SV, IS) */
    PETCT_KIND_UINT = 3,     /* count uint64 in heap (UV) */
    PETCT_KIND_FLOAT = 4,    /* count float64 in heap (FL, FD, DS) */
    PETCT_KIND_BYTES = 5,    /* raw bytes in *source* (OB, OW, OF, OD, OL, OV, UN, bulk data) */
    PETCT_KIND_TAGS = 6,     /* count uint32 tags in heap (AT) */
    PETCT_KIND_SEQUENCE = 7, /* SQ; count = number of items; the items follow in the table */
    PETCT_KIND_ITEM = 8,     /* sequence item; count = number of elements; they follow (pre-order) */
    PETCT_KIND_RAW_TEXT = 9  /* text whose character set could not be decoded: raw bytes in heap */
};

/* Flags of petct_element.flags */
#define PETCT_ELEM_UNDEFINED_LENGTH 0x01u /* value had undefined length in the file */
#define PETCT_ELEM_ENCAPSULATED     0x02u /* encapsulated pixel data (fragments) */
#define PETCT_ELEM_VR_FROM_DICT     0x04u /* implicit VR: VR came from the dictionary (or UN) */
#define PETCT_ELEM_INVALID_VALUE    0x08u /* DS/IS text that did not parse: stored as TEXT */

/* One record of the flattened element tree (pre-order: a SEQUENCE record is followed by its
 * ITEM records, an ITEM record by its elements). */
typedef struct petct_element {
    uint32_t tag;          /* (group << 16) | element */
    uint16_t vr;           /* two ASCII letters: vr[0] | (vr[1] << 8); 0 for ITEM */
    uint8_t kind;          /* PETCT_KIND_* */
    uint8_t flags;         /* PETCT_ELEM_* */
    uint32_t count;        /* values / items / child elements, see kinds */
    uint32_t descendants;  /* number of records below this one (0 unless SEQUENCE or ITEM) */
    uint64_t value_offset; /* into heap, or into source for KIND_BYTES */
    uint64_t value_length; /* bytes */
    int64_t file_offset;   /* offset of the element's tag in the source, -1 if none */
} petct_element;

#define PETCT_DS_PREAMBLE    0x1u /* had a 128-byte preamble + DICM */
#define PETCT_DS_FILE_META   0x2u /* had a group 0002 file meta information */
#define PETCT_DS_IMPLICIT_VR 0x4u
#define PETCT_DS_BIG_ENDIAN  0x8u
#define PETCT_DS_DEFLATED    0x10u
#define PETCT_DS_STOPPED     0x20u /* stopped before pixel data */

typedef struct petct_dataset_view {
    /* elements and heap point into buffers the data set owns: valid until petct_dataset_free. */
    const petct_element *elements; /* whole tree, top level and file meta (group 0002) included */
    size_t element_count;
    const uint8_t *heap; /* decoded values */
    size_t heap_length;
    const uint8_t *source; /* always NULL (ABI 6): read source bytes with petct_dataset_copy_source */
    size_t source_length;  /* length of the file bytes (inflated for deflated syntax) */
    uint32_t flags;        /* PETCT_DS_* */
    uint32_t reserved;
    char transfer_syntax[72]; /* UID used to read the data set, NUL-terminated */
    char character_set[72];   /* first value of (0008,0005) or "" */
} petct_dataset_view;

int32_t petct_dataset_get_view(const petct_dataset *ds, petct_dataset_view *out);
/* Copies source bytes [offset, offset + length) into out (caller-allocated, `length` bytes): the way to
 * read KIND_BYTES values without a second copy of the pixel data. PETCT_E_ARGUMENT when the range does
 * not lie inside the source. */
int32_t petct_dataset_copy_source(const petct_dataset *ds, uint64_t offset, size_t length, uint8_t *out);
/* Where element `index`'s value lies in the view's source as it was encoded, before conversion (the
 * text of a DS or IS value): 1 and *offset / *length, or 0 when that cannot be found (synthesized
 * elements, sequences, items, undefined lengths). Found again from the element's header, so a caller
 * checks it against the decoded value. */
int32_t petct_dataset_encoded_value(const petct_dataset *ds, size_t index, size_t *offset, size_t *length);

/* ---- pixel data -------------------------------------------------------------------------- */
typedef struct petct_pixel_info {
    uint32_t frames, rows, columns, samples;
    uint32_t bits_allocated, bits_stored;
    uint32_t pixel_representation; /* 0 unsigned, 1 signed */
    uint32_t planar_configuration;
    char dtype_kind;  /* 'u', 'i' or 'f' (NumPy kind of pixel_array) */
    uint8_t itemsize; /* bytes per sample in pixel_array */
    uint8_t ndim;     /* 2, 3 or 4, as pydicom's pixel_array */
    uint8_t reserved;
    uint64_t shape[4];
    uint64_t nbytes; /* size of the pixel_array buffer */
    char photometric[32];
    char transfer_syntax[72];
} petct_pixel_info;

int32_t petct_pixel_info_get(const petct_dataset *ds, petct_pixel_info *out, petct_error *err);
/* Decode pixel_array into out (native byte order, C order, exactly info.nbytes bytes). The frames of a
 * multi-frame compressed object decode on at most `threads` threads (0 = all cores). */
int32_t petct_pixel_decode(const petct_dataset *ds, void *out, size_t out_nbytes, int32_t threads,
                           const int32_t *cancel, petct_error *err);
/* Decode straight to float32 stored*slope+intercept (per-frame values where the object has them;
 * slope 1 / intercept 0 where absent). out holds frames*rows*columns*samples floats. */
int32_t petct_pixel_decode_rescaled(const petct_dataset *ds, float *out, size_t out_count, int32_t threads,
                                    const int32_t *cancel, petct_error *err);

/* ---- data dictionary --------------------------------------------------------------------- */
typedef struct petct_dict_entry {
    uint32_t tag; /* the tag asked for (repeating groups resolved) */
    int32_t retired;
    char vr[12]; /* e.g. "US", "OB or OW", "US or SS" */
    char vm[12];
    char keyword[80];
    char name[160];
} petct_dict_entry;

/* 1 if found, 0 if not. */
int32_t petct_dict_lookup_tag(uint32_t tag, petct_dict_entry *out);
/* 1 and *tag if found, 0 if not. */
int32_t petct_dict_lookup_keyword(const char *keyword, uint32_t *tag);

/* ---- series: folder scan ------------------------------------------------------------------ */
/* Reads the headers of `paths` (stop before pixels) on `threads` threads (0 = all cores) and groups
 * them into series. Never fails on a bad file: unreadable and non-DICOM files are listed as skipped,
 * and so is every path that is not a regular file (FIFO, socket, device), found with stat before any
 * open (never opened, so never blocks) and re-checked with fstat after an O_NONBLOCK open; and every
 * file whose declared pixel bytes (frames x rows x columns x samples x bits) exceed what it holds.
 * The result is a JSON document owned by the scan (fields: "the JSON documents" below). With
 * PETCT_SCAN_KEEP_HEADERS in `flags` the scan also keeps the parsed header of every file it read, for
 * petct_volume_open to reuse, until petct_scan_free. `files_done` (nullable, 8-byte aligned) is a
 * progress counter beside the cancel flag: the core stores into it the number of files whose header
 * has been read (after every block of 64, rising to `count`) while the caller polls it from another
 * thread with an atomic load (only the core writes it during the call). */
typedef struct petct_scan petct_scan;
#define PETCT_SCAN_KEEP_HEADERS 1u
int32_t petct_scan_files(const char *const *paths, size_t count, int32_t threads, uint32_t flags,
                         const int32_t *cancel, int64_t *files_done, petct_scan **out, petct_error *err);
const char *petct_scan_json(const petct_scan *scan); /* valid until petct_scan_free */
void petct_scan_free(petct_scan *scan);

/* ---- volumes ---------------------------------------------------------------------------------- */
/* Opens the slices of one series: reads their headers, sorts them along the slice normal, removes
 * duplicate positions, checks spacing and computes the geometry. Pixels are read by _fill. `headers`
 * is NULL or a scan made with PETCT_SCAN_KEEP_HEADERS: the headers it kept are used instead of reading
 * those files again (the volume holds its own references; the scan may be freed right after). */
typedef struct petct_volume petct_volume;
int32_t petct_volume_open(const char *const *paths, size_t count, int32_t threads, const petct_scan *headers,
                          const int32_t *cancel, petct_volume **out, petct_error *err);
/* JSON: shape, geometry (origin, spacing, direction, affine, slice_positions), warnings, the sorted
 * file list, modality, series UID, per-slice rescale. Valid until petct_volume_free. */
const char *petct_volume_json(const petct_volume *vol);
/* Decodes every slice, rescaled to float32 with its own slope/intercept, into out
 * (slices*rows*columns floats, C order), on at most `threads` threads (0 = all cores). */
int32_t petct_volume_fill(const petct_volume *vol, float *out, size_t count, int32_t threads,
                          const int32_t *cancel, petct_error *err);
void petct_volume_free(petct_volume *vol);

/* ---- SUV -------------------------------------------------------------------------------------- */
/* Per-slice factors that turn the volume's values into SUV of `kind` (one of
 * petct_list(PETCT_LIST_SUV_KINDS)): suv[k] = value[k] * factors[k]. `factors` holds the volume's slice count.
 * *info_json (when info_json is not NULL) receives the JSON report of the path taken, whole,
 * NUL-terminated UTF-8, owned by the volume and valid until petct_volume_free (NULL on failure). */
int32_t petct_volume_suv(const petct_volume *vol, const char *kind, double *factors, size_t count,
                         const char **info_json, petct_error *err);

/* ---- resampling / pairing --------------------------------------------------------------------- */
/* A voxel grid in patient coordinates (LPS, mm). Index (k, i, j) = (slice, row, column) maps to
 *   origin + offset(k) * n + i * spacing[1] * c + j * spacing[2] * r
 * where the columns of `direction` (row-major 3x3) are n, c, r: n the slice normal, c the direction of
 * increasing row index, r of increasing column index. offset(k) = slice_offsets[k] when
 * slice_offsets != NULL (non-uniform slices), else k * spacing[0].
 * slice_shifts (ABI 9; NULL for slices stacked along n): 3 doubles per slice (x, y, z, mm), slice k's
 * in-plane displacement (perpendicular to n) from origin + offset(k) * n, i.e. slice_position[k] -
 * origin - slice_offset[k] * n of a sheared stack (gantry-tilted CT). Index -> world then adds the shift
 * interpolated along k (extrapolated with the end intervals, as the offsets are); world -> index takes
 * k from the position along n first, then the in-plane indices after subtracting the shift at k. */
typedef struct petct_grid {
    uint64_t slices, rows, columns;
    double origin[3];
    double direction[9];
    double spacing[3];
    const double *slice_offsets;
    const double *slice_shifts;
} petct_grid;

#define PETCT_RESAMPLE_LINEAR 0 /* trilinear interpolation */
#define PETCT_RESAMPLE_AREA   1 /* area (box) averaging, for down-sampling without aliasing */

/* Resamples src on src_grid onto dst_grid. Points outside src get `fill`; mask (nullable, one byte
 * per dst voxel) gets 1 inside src, 0 outside. threads 0 = all cores. */
int32_t petct_resample(const float *src, const petct_grid *src_grid, float *dst, const petct_grid *dst_grid,
                       int32_t method, float fill, uint8_t *mask, int32_t threads, petct_error *err);

/* ---- segmentations: DICOM SEG and RTSTRUCT ------------------------------------------------------ */
/* Reads SEG and RTSTRUCT files (whole files; any other modality is an error) and lists every segment
 * / ROI in a JSON document (path, modality, referenced series / instances / frames of reference, and
 * per segment its number, name and object). A SEG frame without a position, a SEG or RTSTRUCT that
 * names no referenced series, or a malformed contour fails with the element's tag and offset. */
typedef struct petct_masks petct_masks;
int32_t petct_masks_open(const char *const *paths, size_t count, petct_masks **out, petct_error *err);
const char *petct_masks_json(const petct_masks *masks); /* valid until petct_masks_free */
#define PETCT_MASKS_FRACTION 0x1u /* out is float32 (SEG fractions, else 0/1); without it uint8 0/1 */
#define PETCT_MASKS_STRICT   0x2u /* an RTSTRUCT contour off every slice of the grid is an error */
/* Rasterises entry `index` (order of the JSON's segments) onto `grid` into out (slices*rows*columns
 * bytes or floats, C order), which the caller zeroes first. SEG: nearest neighbour (the SEG pixel whose
 * cell holds the voxel centre, on the nearest SEG plane within half its slice spacing); fractional
 * values >= threshold become 1 in uint8 output. RTSTRUCT: voxel centre inside the nearest contour plane's
 * contours by the even-odd rule (centres on a left/top edge inside, right/bottom edge outside). A grid
 * with slice_shifts places slice k's voxels at their real (shifted) positions. */
int32_t petct_masks_fill(const petct_masks *masks, size_t index, const petct_grid *grid, uint32_t flags,
                         double threshold, int32_t threads, void *out, size_t out_nbytes, petct_error *err);
void petct_masks_free(petct_masks *masks);

/* ---- misc -------------------------------------------------------------------------------- */
int32_t petct_abi_version(void);
/* Version string of the core, NUL-terminated, static storage. */
const char *petct_core_version(void);
/* Lists of names the core defines, so callers never spell them again: the names separated by '\\',
 * NUL-terminated, static storage; NULL for an unknown `which`. */
#define PETCT_LIST_NATIVE_TRANSFER_SYNTAXES 0 /* pixel data native (not encapsulated); others are */
#define PETCT_LIST_SUV_KINDS                1 /* the `kind` values of petct_volume_suv */
#define PETCT_LIST_SINGLE_VALUED_TEXT_VRS   2 /* text VRs whose value is never split at '\\' */
const char *petct_list(int32_t which);
/* Test hook: the largest number of workers any parallel loop of the core was allowed since the last
 * reset (1 when a loop ran on the caller's thread only, 0 when none ran); *active (nullable) gets the
 * most threads seen running loop bodies at one moment (a thread in nested loops counts once; <= the
 * returned width). reset != 0 zeroes both after reading them. Every `threads` argument above bounds
 * this width. */
int32_t petct_parallel_peak(int32_t reset, int32_t *active);
/* Codec libraries opened at run time (PETCT_CODEC_*). Opens the library if that was not tried yet and
 * writes a NUL-terminated description into buf[0..cap) (truncated to fit): name, version and path when
 * it loaded, else why not. Returns 1 loaded, 0 missing, -1 unknown codec. */
enum { PETCT_CODEC_CHARLS = 1, PETCT_CODEC_OPENJPEG = 2 };
int32_t petct_codec_status(int32_t codec, char *buf, size_t cap);

/* ---- writing ------------------------------------------------------------------------------ */
/* One record of the element tree to write, in the same pre-order layout as petct_element: a
 * SEQUENCE record (count = items) is followed by its ITEM records, an ITEM (count = elements) by its
 * elements; descendants = records below. kind is a PETCT_KIND_*; the value is heap[value_offset,
 * value_offset + value_length): TEXT/RAW_TEXT the encoded bytes written as given (values joined by
 * '\\', no padding), INT int64s, UINT uint64s, FLOAT float64s, TAGS uint32s, BYTES raw bytes.
 * The writer encodes per VR (US/SS/UL/SL/SV/UV/FL/FD/AT binary with range checks, DS/IS formatted
 * as text from numbers, even-length padding), sorts each level by tag, and ignores groups 0000/0002. */
typedef struct petct_write_element {
    uint32_t tag;  /* (group << 16) | element */
    uint16_t vr;   /* vr[0] | (vr[1] << 8); 0 for ITEM */
    uint8_t kind;  /* PETCT_KIND_* */
    uint8_t flags; /* PETCT_WRITE_* */
    uint32_t count;
    uint32_t descendants;
    uint64_t value_offset; /* into heap */
    uint64_t value_length; /* bytes */
} petct_write_element;

/* The value of a (7FE0,0010) BYTES record is an encapsulated item stream (Basic Offset Table item, then
 * fragments, no delimiter), written with undefined length and a sequence delimiter. It needs a
 * (0002,0010) record naming an encapsulated transfer syntax, and every item must lie inside the value. */
#define PETCT_WRITE_ENCAPSULATED 0x1u

/* Writes a Part 10 file in Explicit VR Little Endian: preamble, DICM, a file meta group made here
 * (SOP class/instance from (0008,0016)/(0008,0018), else from (0002,0002)/(0002,0003) records), then
 * the data set. A (0002,0010) record may name another transfer syntax whose data set encoding is
 * Explicit VR Little Endian (the encapsulated ones): then the pixel data must be an encapsulated record
 * and is passed through as it is. Written to a temporary name in the same folder and renamed (atomic). */
int32_t petct_write_file(const char *path, const petct_write_element *elements, size_t count,
                         const uint8_t *heap, size_t heap_length, petct_error *err);
/* The same records encoded in memory, as petct_write_file would write them, then parsed with
 * petct_read_buffer's `flags` (PETCT_READ_*): no file is created. *out as from petct_read_buffer.
 * With PETCT_ENCODE_ONLY in `flags` the bytes are not parsed: *out holds them as its source and
 * nothing else (no elements, flags 0, empty transfer syntax): source_length is the size of the Part 10
 * bytes petct_write_file would write, copied out with petct_dataset_copy_source (ABI 7). */
#define PETCT_ENCODE_ONLY 0x100u
int32_t petct_encode_read(const petct_write_element *elements, size_t count, const uint8_t *heap,
                          size_t heap_length, uint32_t flags, petct_dataset **out, petct_error *err);

/* ---- the JSON documents ------------------------------------------------------------------------ */
/* Encoded in Sources/PetctExport/JSONEncoding.swift from typed Swift results, keys in this order.
 * Strings are UTF-8 (see the note on undecodable bytes above); a number that is not finite is null.
 *
 * Scan (petct_scan_json): {"series": [S...], "skipped": [{"path", "reason"}...]}. Each S, one per
 * series or split-off part of a series (largest part first):
 *   study_uid, series_uid, frame_of_reference_uid (or null), modality, description   strings
 *   series_number (int or null), image_type [str], rows, columns (0 for a non-image),
 *   orientation (6 doubles, ImageOrientationPatient, or null), slice_count (frames, duplicates left out),
 *   files [path] (sorted along the slice normal, else by InstanceNumber, then path),
 *   localizer, ignore (bools), reason (why ignored, or null), part (0 = main part),
 *   corrected_image [str], units (or null), number_of_frames, patient_id, patient_name, series_date,
 *   series_time, study_date, study_description, duplicate_files [path] (same SOPInstanceUID again),
 *   frame_kind ("dynamic" / "gated" / "frames", or null), time_frames (int, or null with frame_kind null).
 *
 * Volume (petct_volume_json):
 *   shape [slices, rows, columns], or [time_frames, slices_per_frame, rows, columns] when 4D;
 *   origin [x,y,z] mm (LPS), spacing [slice, row, column] mm, direction (9 doubles, row-major, columns
 *   n, c, r as for petct_grid), affine (16 doubles, row-major 4x4), slice_offsets [mm along n],
 *   slice_positions [[x,y,z]...], uniform (bool), warnings [str], files [path] (volume order);
 *   frames [int] (frame of each slice in its file; present only for multi-frame files);
 *   modality, series_uid (strings), series_number (int or null), series_description, study_uid,
 *   frame_of_reference_uid (or null), rescale [[slope, intercept]...] (per slice),
 *   instance_numbers [int or null], acquisition_times [str] (AcquisitionDate+Time, "" when absent),
 *   units (or null);
 *   time_frames (4D only): {"kind", "grouped_by", "frames": [{"index", "start", "duration_ms",
 *   "frame_reference_time_ms", "decay_factor", "trigger_time_ms", "gate", "image_index_frame",
 *   "temporal_position_index", "first_file"}...]} (each value null when unknown).
 *
 * SUV report (petct_volume_suv):
 *   kind, units, suv_type, decay_correction (strings or null), scan_start (ISO date-time or null),
 *   scan_start_source, injection_time (ISO date-time or null), injection_time_source, dose_bq,
 *   dose_note, half_life_s, weight_kg, height_cm, sex, sex_note, normaliser, normaliser_value,
 *   decay_factor (decayed dose = dose * decay_factor, or null), formula, per_slice (bool), factor
 *   (first slice's, or null), vendor_factor (or null), notes [str], elapsed_s (scan start minus
 *   injection, present only when both are known), day_rollover (bool: injection moved to the previous
 *   day); frames (4D only): [{"frame", "path", "decay_correction", "start", "decay_factor",
 *   "in_frame_correction", "factor"}...].
 *
 * Masks (petct_masks_json): {"objects": [{"path", "modality", "sop_instance_uid" (or null), "series_uid"
 *   (or null), "segmentation_type" ("BINARY" / "FRACTIONAL" for SEG, null for RTSTRUCT), "segments":
 *   [{"number", "name", "object" (index in objects), "planes" (frames / contours)}...],
 *   "referenced_series" [uid], "referenced_instances" [uid], "frame_of_reference_uids" [uid]}...]}. */

#ifdef __cplusplus
}
#endif
#endif /* PETCT_H */
