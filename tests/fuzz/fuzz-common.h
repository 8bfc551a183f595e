/* fuzz-common.h: what every fuzz target shares
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* libFuzzer's entry points: each target defines the second, fuzz-common.c
 * the first */
int LLVMFuzzerInitialize   (int            *argc,
                            char         ***argv);
int LLVMFuzzerTestOneInput (const guint8   *data,
                            size_t          size);

G_NORETURN void fuzz_fail (const char *format,
                           ...) G_GNUC_PRINTF (1, 2);

/* Fails the run when @condition is false; the message's arguments are only
 * evaluated then. */
#define fuzz_check(condition, ...) \
  G_STMT_START { if (G_UNLIKELY (!(condition))) fuzz_fail (__VA_ARGS__); } G_STMT_END
char *fuzz_write_file (const guint8 *data,
                       size_t        size,
                       const char   *name);

/* Reads the fuzz input as a stream of small choices; past the end every
 * choice is 0, so any input decodes to something. */
typedef struct
{
  const guint8 *data;
  size_t size;
  size_t pos;
} FuzzReader;

guint8  fuzz_byte   (FuzzReader *r);
guint32 fuzz_below  (FuzzReader *r,
                     guint32     n);
gboolean fuzz_done  (FuzzReader *r);

G_END_DECLS
