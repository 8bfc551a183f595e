/* test-discovery.c: TandemDiscovery where no Avahi daemon can be reached
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Tandem must work without Avahi: no system bus (a sandbox, a container),
 * or a bus without the daemon. start() then fails once with a clear error
 * and everything else does nothing. The system bus address is pointed at
 * a socket that does not exist before anything talks D-Bus, so this never
 * touches the machine's real bus.
 *
 * Discovery between hosts, with real daemons in network namespaces, is
 * run-discovery-sandbox.py's job (with tandem-discovery-probe).
 */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "tandem-discovery.h"

static char *tmp_dir;

/* a discovery that never started must never report anything */
static void
on_found (TandemDiscovery *discovery,
          const char      *name,
          const char      *host,
          guint            port,
          GStrv            txt,
          gpointer         user_data)
{
  g_assert_not_reached ();
}

static void
on_lost (TandemDiscovery *discovery,
         const char      *name,
         gpointer         user_data)
{
  g_assert_not_reached ();
}

static void
test_no_bus (void)
{
  g_autoptr(TandemDiscovery) discovery = tandem_discovery_new ();
  g_autoptr(GError) error = NULL;
  const char *txt[] = { "v=1", "peer=0f3a9c5b7d1e2f40", NULL };
  const char *other_txt[] = { "v=2", NULL };

  g_signal_connect (discovery, "service-found", G_CALLBACK (on_found), NULL);
  g_signal_connect (discovery, "service-lost", G_CALLBACK (on_lost), NULL);
  g_assert_false (tandem_discovery_is_running (discovery));

  g_assert_false (tandem_discovery_start (discovery, "Alice's notes", 7890, txt, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
  g_assert_nonnull (strstr (error->message, "Avahi"));
  g_test_message ("start() said: %s", error->message);
  g_assert_false (tandem_discovery_is_running (discovery));
  g_assert_null (tandem_discovery_get_service_name (discovery));

  /* everything else is harmless, in any order, any number of times */
  tandem_discovery_set_txt (discovery, other_txt);
  tandem_discovery_set_txt (discovery, NULL);
  tandem_discovery_stop (discovery);
  tandem_discovery_stop (discovery);
  tandem_discovery_set_txt (discovery, txt);

  /* and trying again fails the same way, without leaking the first try */
  g_clear_error (&error);
  g_assert_false (tandem_discovery_start (discovery, "Alice's notes", 7890, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);

  /* a main loop turn: nothing was left scheduled that could fire */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_false (tandem_discovery_is_running (discovery));
}

static void
test_no_error_argument (void)
{
  g_autoptr(TandemDiscovery) discovery = tandem_discovery_new ();

  /* callers that only want to know may pass no GError */
  g_assert_false (tandem_discovery_start (discovery, "x", 1, NULL, NULL));
  tandem_discovery_stop (discovery);
}

static void
test_long_name (void)
{
  g_autoptr(TandemDiscovery) discovery = tandem_discovery_new ();
  g_autoptr(GString) name = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  /* longer than a DNS label, with multi-byte characters across the limit;
   * refused for want of a daemon, not for the name */
  for (guint i = 0; i < 40; i++)
    g_string_append (name, "é");
  g_assert_false (tandem_discovery_start (discovery, name->str, 7890, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
}

static void
test_bad_arguments (void)
{
  g_autoptr(TandemDiscovery) discovery = tandem_discovery_new ();
  g_autofree char *long_entry = g_strnfill (256, 'x');
  const char *too_long[] = { "v=1", long_entry, NULL };
  const char *empty[] = { "", NULL };
  const char *not_utf8[] = { "k=\xff\xfe", NULL };

  /* programming errors, caught before anything is sent */
  g_test_expect_message (NULL, G_LOG_LEVEL_CRITICAL, "*txt_is_valid*");
  g_assert_false (tandem_discovery_start (discovery, "x", 7890, too_long, NULL));
  g_test_assert_expected_messages ();

  g_test_expect_message (NULL, G_LOG_LEVEL_CRITICAL, "*txt_is_valid*");
  g_assert_false (tandem_discovery_start (discovery, "x", 7890, empty, NULL));
  g_test_assert_expected_messages ();

  g_test_expect_message (NULL, G_LOG_LEVEL_CRITICAL, "*txt_is_valid*");
  g_assert_false (tandem_discovery_start (discovery, "x", 7890, not_utf8, NULL));
  g_test_assert_expected_messages ();

  g_test_expect_message (NULL, G_LOG_LEVEL_CRITICAL, "*port != 0*");
  g_assert_false (tandem_discovery_start (discovery, "x", 0, NULL, NULL));
  g_test_assert_expected_messages ();

  g_test_expect_message (NULL, G_LOG_LEVEL_CRITICAL, "*g_utf8_validate*");
  g_assert_false (tandem_discovery_start (discovery, "\xc3", 7890, NULL, NULL));
  g_test_assert_expected_messages ();

  g_test_expect_message (NULL, G_LOG_LEVEL_CRITICAL, "*txt_is_valid*");
  tandem_discovery_set_txt (discovery, too_long);
  g_test_assert_expected_messages ();

  g_assert_false (tandem_discovery_is_running (discovery));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);

  /* before anything opens the system bus: libdbus reads this once */
  tmp_dir = g_dir_make_tmp ("test-discovery-XXXXXX", &error);
  g_assert_no_error (error);
  address = g_strdup_printf ("unix:path=%s/no-such-bus", tmp_dir);
  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", address, TRUE);

  g_test_add_func ("/discovery/no-bus", test_no_bus);
  g_test_add_func ("/discovery/no-error-argument", test_no_error_argument);
  g_test_add_func ("/discovery/long-name", test_long_name);
  g_test_add_func ("/discovery/bad-arguments", test_bad_arguments);
  ret = g_test_run ();

  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return ret;
}
