/* main.c: starts Tandem
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <locale.h>

#include "tandem-application.h"

int
main (int    argc,
      char **argv)
{
  g_autoptr(TandemApplication) app = NULL;
  /* TANDEM_LOCALEDIR, when set, is where the translations are instead of
   * the install prefix's: a DESTDIR install (tests/po/run-ui-german.py) or
   * the build directory's po/, which holds LANG/LC_MESSAGES/tandem.mo. */
  const char *localedir = g_getenv ("TANDEM_LOCALEDIR");

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, localedir != NULL && *localedir != '\0' ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  app = tandem_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
