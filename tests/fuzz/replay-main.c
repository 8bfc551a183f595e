/* replay-main.c: a fuzz target as a plain program, for builds without
 * libFuzzer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Runs the target once on every file named, or in the folders named (its
 * committed corpus and the inputs that once crashed it), and prints TAP: so
 * the normal build keeps every regression input passing with gcc, and
 * valgrind can run them too.
 */
#include <stdio.h>

#include "fuzz-common.h"

static int
compare_paths (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

static gboolean
run_file (const char *path,
          guint      *n)
{
  g_autofree char *contents = NULL;
  gsize length;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents (path, &contents, &length, &error))
    {
      printf ("not ok %u - %s\n# %s\n", ++*n, path, error->message);
      return FALSE;
    }
  /* a crash or a failed check aborts the whole program, which fails the test */
  LLVMFuzzerTestOneInput ((const guint8 *) contents, length);
  printf ("ok %u - %s\n", ++*n, path);
  return TRUE;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  gboolean ok = TRUE;
  guint n = 0;

  /* what ran before a crash is in the log */
  setvbuf (stdout, NULL, _IOLBF, 0);
  LLVMFuzzerInitialize (&argc, &argv);
  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GDir) dir = g_dir_open (argv[i], 0, NULL);
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      const char *name;

      if (dir == NULL)
        {
          g_ptr_array_add (files, g_strdup (argv[i]));
          continue;
        }
      while ((name = g_dir_read_name (dir)) != NULL)
        g_ptr_array_add (names, g_build_filename (argv[i], name, NULL));
      g_ptr_array_sort (names, compare_paths);
      for (guint k = 0; k < names->len; k++)
        g_ptr_array_add (files, g_strdup (g_ptr_array_index (names, k)));
    }
  if (files->len == 0)
    {
      printf ("1..0 # SKIP no inputs\n");
      return 0;
    }
  printf ("1..%u\n", files->len);
  for (guint i = 0; i < files->len; i++)
    ok &= run_file (g_ptr_array_index (files, i), &n);
  return ok ? 0 : 1;
}
