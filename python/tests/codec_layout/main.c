/* Prints every ABI fact of fields.h on which petct's declarations and the installed headers differ;
 * exits 1 if any does. */
#include <stdio.h>
extern const long long installed_layout[];
extern const long long petct_layout[];
#define F(x) #x,
static const char *const names[] = {
#include "fields.h"
};
int
main(void)
{
    int bad = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (installed_layout[i] != petct_layout[i]) {
            printf("%s: installed headers %lld, petct %lld\n", names[i], installed_layout[i],
                   petct_layout[i]);
            bad = 1;
        }
    }
    printf("%zu facts compared\n", sizeof names / sizeof names[0]);
    return bad;
}
