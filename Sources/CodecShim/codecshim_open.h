/* Shared by the CharLS and OpenJPEG loaders (Sources/CCharLS, Sources/COpenJPEG): opens a codec
 * library with dlopen on first use and fills a table of function pointers from it.
 *
 * Names without a slash are searched as dlopen does for the calling object, libpetct.so: its
 * RUNPATH ($ORIGIN, where a wheel bundles the libraries), then LD_LIBRARY_PATH, ld.so.cache and the
 * system folders. The library stays open for the life of the process. */
#ifndef CODECSHIM_OPEN_H
#define CODECSHIM_OPEN_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct codecshim_symbol {
    const char *name;
    void **slot;
};

struct codecshim_library {
    const char *codec;                      /* "CharLS" */
    const char *const *names;               /* file names to try, NULL-terminated */
    const struct codecshim_symbol *symbols; /* NULL-terminated */
    int state;                              /* 0 not tried, 1 loaded, 2 unavailable */
    char why[768];                          /* loaded: the path; unavailable: the reason */
};

static pthread_mutex_t codecshim_lock = PTHREAD_MUTEX_INITIALIZER;

static int
codecshim_try(struct codecshim_library *lib)
{
    size_t used = 0;
    lib->why[0] = 0;
    for (const char *const *name = lib->names; *name; name++) {
        void *handle = dlopen(*name, RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            const char *e = dlerror();
            if (used < sizeof lib->why) {
                int n = snprintf(lib->why + used, sizeof lib->why - used, "%s%s", used ? "; " : "",
                                 e ? e : *name);
                if (n > 0)
                    used += (size_t)n;
            }
            continue;
        }
        const struct codecshim_symbol *s;
        for (s = lib->symbols; s->name; s++) {
            *s->slot = dlsym(handle, s->name);
            if (!*s->slot)
                break;
        }
        if (s->name) { /* an older or different library: not usable */
            if (used < sizeof lib->why) {
                int n = snprintf(lib->why + used, sizeof lib->why - used, "%s%s has no %s", used ? "; " : "",
                                 *name, s->name);
                if (n > 0)
                    used += (size_t)n;
            }
            for (s = lib->symbols; s->name; s++)
                *s->slot = 0;
            dlclose(handle);
            continue;
        }
        struct link_map *map = 0;
        if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name && map->l_name[0])
            snprintf(lib->why, sizeof lib->why, "%s", map->l_name);
        else
            snprintf(lib->why, sizeof lib->why, "%s", *name);
        return 1;
    }
    return 2;
}

/* Returns 1 when the library is usable. *why gets the loaded path (1) or the reason (0). */
static int
codecshim_open(struct codecshim_library *lib, const char **why)
{
    int state = __atomic_load_n(&lib->state, __ATOMIC_ACQUIRE);
    if (state == 0) {
        pthread_mutex_lock(&codecshim_lock);
        state = lib->state;
        if (state == 0) {
            state = codecshim_try(lib);
            __atomic_store_n(&lib->state, state, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&codecshim_lock);
    }
    if (why)
        *why = lib->why;
    return state == 1;
}

#endif
