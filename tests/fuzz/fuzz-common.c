/* fuzz-common.c: what every fuzz target shares
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * libFuzzer sees crashes, not GLib's complaints: a g_return_if_fail() that
 * fails only logs a critical and returns, and G_DEBUG=fatal-criticals
 * raises SIGTRAP, which libFuzzer does not catch. So a log writer aborts on
 * every warning and critical instead (after printing it), and the input
 * that caused it is saved like any crash.
 */
#include "fuzz-common.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

static GLogWriterOutput
abort_on_complaints (GLogLevelFlags   level,
                     const GLogField *fields,
                     gsize            n_fields,
                     gpointer         user_data)
{
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    {
      g_log_writer_standard_streams (level, fields, n_fields, user_data);
      abort ();
    }
  /* messages, info and debug are only noise at a million runs */
  return G_LOG_WRITER_HANDLED;
}

/* The same for every target: libFuzzer calls it once, before any input
 * (replay-main.c does too). */
int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_log_set_writer_func (abort_on_complaints, NULL, NULL);
  return 0;
}

/* Fails the run with an abort, which libFuzzer reports with the input:
 * for the targets' own checks of what the code did. */
void
fuzz_fail (const char *format,
           ...)
{
  va_list args;

  va_start (args, format);
  fputs ("fuzz check failed: ", stderr);
  vfprintf (stderr, format, args);
  fputc ('\n', stderr);
  va_end (args);
  abort ();
}

/* For loaders that read a path: writes the input to @name in a folder of
 * this process's own, made once and removed at exit. */
static char *scratch_dir;

static void
remove_scratch (void)
{
  g_autoptr(GDir) dir = g_dir_open (scratch_dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (scratch_dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (scratch_dir);
}

char *
fuzz_write_file (const guint8 *data,
                 size_t        size,
                 const char   *name)
{
  g_autoptr(GError) error = NULL;
  char *path;

  if (scratch_dir == NULL)
    {
      scratch_dir = g_dir_make_tmp ("tandem-fuzz-XXXXXX", &error);
      fuzz_check (scratch_dir != NULL, "cannot make a folder: %s", error ? error->message : "");
      atexit (remove_scratch);
    }
  path = g_build_filename (scratch_dir, name, NULL);
  /* no fsync: thousands of these a second */
  fuzz_check (g_file_set_contents_full (path, (const char *) data, (gssize) size,
                                        G_FILE_SET_CONTENTS_NONE, 0600, &error),
              "cannot write %s: %s", path, error ? error->message : "");
  return path;
}

guint8
fuzz_byte (FuzzReader *r)
{
  return r->pos < r->size ? r->data[r->pos++] : 0;
}

/* A number in [0, n), from one or two bytes. */
guint32
fuzz_below (FuzzReader *r,
            guint32     n)
{
  guint32 v;

  if (n <= 1)
    return 0;
  v = fuzz_byte (r);
  if (n > 256)
    v = (v << 8) | fuzz_byte (r);
  return v % n;
}

gboolean
fuzz_done (FuzzReader *r)
{
  return r->pos >= r->size;
}
