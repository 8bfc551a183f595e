/* tandem-test-files.c: temporary folders for the C tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tandem-test-files.h"

#include <sys/stat.h>

#include <glib/gstdio.h>

/**
 * tandem_test_rm_rf:
 * @path: a file or folder; gone afterwards, with what it held
 *
 * Folders a test made read-only (to see a write fail) are made writable
 * again first, so that they can be emptied.
 */
void
tandem_test_rm_rf (const char *path)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr(GDir) dir = NULL;
      const char *name;

      g_chmod (path, 0700);
      dir = g_dir_open (path, 0, NULL);
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          tandem_test_rm_rf (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}
