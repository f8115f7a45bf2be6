/*
 * The layout probe every stub library in native/ exports for tests: unet_stub_layout(name) answers the
 * C compiler's sizeof ("T") or offsetof ("T.member") by C name, so a test can compare the koffi structs
 * in src/hw/<vendor>/ffi.ts with C (src/hw/ffi-kit.ts stubLayout). A stub lists its structs once, a row
 * a struct (wrapped when long):
 *   static const struct stub_layout layout[] = {
 *     STUB_SIZE(nvmlPciInfo_t), STUB_OFFSET(nvmlPciInfo_t, busId),
 *     STUB_SIZE(nvmlMemory_t),
 *   };
 *   unsigned long unet_stub_layout(const char *what) { return STUB_LAYOUT_FIND(layout, what); }
 * Header only (static), so native/build.mjs compiles nothing more for it.
 */
#ifndef UNET_STUB_LAYOUT_H
#define UNET_STUB_LAYOUT_H

#include <stddef.h>
#include <string.h>

struct stub_layout {
  const char *name;
  unsigned long value;
};

#define STUB_SIZE(T) {#T, sizeof(T)}
#define STUB_OFFSET(T, member) {#T "." #member, offsetof(T, member)}

/* The value listed under `what`, or 0 when the table has no such name. */
static unsigned long stub_layout_find(const struct stub_layout *table, size_t count, const char *what) {
  for (size_t k = 0; k < count; k++)
    if (strcmp(what, table[k].name) == 0) return table[k].value;
  return 0;
}

#define STUB_LAYOUT_FIND(table, what) stub_layout_find(table, sizeof table / sizeof table[0], what)

#endif
