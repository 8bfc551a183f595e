/* tandem-discovery-probe.c: TandemDiscovery on the command line, for tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * run-discovery-sandbox.py runs this inside network namespaces, each with
 * its own Avahi daemon (see avahi_sandbox.py):
 *
 *   tandem-discovery-probe publish NAME PORT [TXT...]
 *       publishes until SIGTERM or SIGINT, then withdraws and exits 0.
 *       Prints "started NAME" (the name after any cut). SIGUSR1 publishes
 *       TXT plus "rev=N" (N = 1, 2, ...) and prints "txt TXT...".
 *   tandem-discovery-probe browse ENTRY [TIMEOUT_S]
 *       waits for a service whose TXT holds ENTRY (e.g. peer=0f3a9c) and
 *       prints "found NAME HOST PORT TXT...", then "changed ..." for each
 *       change of it, and "lost NAME" when it goes, exiting 0; exits 1 if
 *       TIMEOUT_S (default 60) pass first.
 *   tandem-discovery-probe once ENTRY [TIMEOUT_S]
 *       like browse, but drops its TandemDiscovery from inside the
 *       "service-found" handler (its last reference) and exits 0: Avahi is
 *       in the middle of calling it then.
 *   tandem-discovery-probe watch [TIMEOUT_S]
 *       prints "found ..." and "lost NAME" for every service until killed
 *       or TIMEOUT_S (default 60) pass, then exits 0.
 *
 * Fields are quoted like a shell word when they need it (Python's
 * shlex.split() reads a line back). Output is flushed at every line. If
 * start() fails, the probe prints "error: MESSAGE" on stderr and exits 3.
 * browse and watch publish a service of their own too ("probe-PID", TXT
 * role=probe), because a TandemDiscovery always does both.
 */
#include <glib-unix.h>
#include <gio/gio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tandem-discovery.h"

typedef enum
{
  MODE_PUBLISH,
  MODE_BROWSE,
  MODE_ONCE,
  MODE_WATCH,
} Mode;

typedef struct
{
  Mode             mode;
  TandemDiscovery *discovery;
  GMainLoop       *loop;
  int              status;
  const char      *entry;         /* browse: the TXT entry looked for */
  char            *followed;      /* browse: the service that had it */
  GStrv            base_txt;      /* publish: TXT as given */
  guint            revision;
} Probe;

/* Returns: (transfer full): @s as one shell word */
static char *
quote (const char *s)
{
  if (*s == '\0')
    return g_shell_quote (s);
  for (const char *p = s; *p; p++)
    if (!g_ascii_isalnum (*p) && strchr ("_.:%=@+,/-", *p) == NULL)
      return g_shell_quote (s);
  return g_strdup (s);
}

static void
print_service (const char  *what,
               const char  *name,
               const char  *host,
               guint        port,
               const char * const *txt)
{
  g_autoptr(GString) line = g_string_new (what);
  g_autofree char *qname = quote (name);
  g_autofree char *qhost = quote (host);

  g_string_append_printf (line, " %s %s %u", qname, qhost, port);
  for (; txt != NULL && *txt != NULL; txt++)
    {
      g_autofree char *q = quote (*txt);

      g_string_append_printf (line, " %s", q);
    }
  printf ("%s\n", line->str);
  fflush (stdout);
}

static void
on_found (TandemDiscovery *discovery,
          const char      *name,
          const char      *host,
          guint            port,
          GStrv            txt,
          Probe           *probe)
{
  switch (probe->mode)
    {
    case MODE_WATCH:
      print_service ("found", name, host, port, (const char * const *) txt);
      break;
    case MODE_BROWSE:
      if (probe->followed != NULL)
        {
          if (g_str_equal (name, probe->followed))
            print_service ("changed", name, host, port, (const char * const *) txt);
        }
      else if (g_strv_contains ((const char * const *) txt, probe->entry))
        {
          probe->followed = g_strdup (name);
          print_service ("found", name, host, port, (const char * const *) txt);
        }
      break;
    case MODE_ONCE:
      if (g_strv_contains ((const char * const *) txt, probe->entry))
        {
          print_service ("found", name, host, port, (const char * const *) txt);
          g_clear_object (&probe->discovery);
          probe->status = 0;
          g_main_loop_quit (probe->loop);
        }
      break;
    case MODE_PUBLISH:
    default:
      break;
    }
}

static void
on_lost (TandemDiscovery *discovery,
         const char      *name,
         Probe           *probe)
{
  g_autofree char *qname = quote (name);

  if (probe->mode == MODE_WATCH
      || (probe->mode == MODE_BROWSE && g_strcmp0 (name, probe->followed) == 0))
    {
      printf ("lost %s\n", qname);
      fflush (stdout);
    }
  if (probe->mode == MODE_BROWSE && g_strcmp0 (name, probe->followed) == 0)
    {
      probe->status = 0;
      g_main_loop_quit (probe->loop);
    }
}

static gboolean
on_quit_signal (gpointer user_data)
{
  Probe *probe = user_data;

  probe->status = 0;
  g_main_loop_quit (probe->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_timeout (gpointer user_data)
{
  Probe *probe = user_data;

  /* watch runs for a while; browse and once were waiting for something */
  if (probe->mode == MODE_BROWSE || probe->mode == MODE_ONCE)
    {
      fprintf (stderr, "timeout: %s\n", probe->followed ? "the service was not lost" : "nothing found");
      probe->status = 1;
    }
  else
    probe->status = 0;
  g_main_loop_quit (probe->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
on_usr1 (gpointer user_data)
{
  Probe *probe = user_data;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree char *rev = g_strdup_printf ("rev=%u", ++probe->revision);
  g_auto(GStrv) txt = NULL;
  g_autofree char *joined = NULL;

  g_strv_builder_addv (builder, (const char **) probe->base_txt);
  g_strv_builder_add (builder, rev);
  txt = g_strv_builder_end (builder);
  tandem_discovery_set_txt (probe->discovery, (const char * const *) txt);
  joined = g_strjoinv (" ", txt);
  printf ("txt %s\n", joined);
  fflush (stdout);
  return G_SOURCE_CONTINUE;
}

static int
usage (void)
{
  fprintf (stderr,
           "usage: tandem-discovery-probe publish NAME PORT [TXT...]\n"
           "       tandem-discovery-probe browse ENTRY [TIMEOUT_S]\n"
           "       tandem-discovery-probe once ENTRY [TIMEOUT_S]\n"
           "       tandem-discovery-probe watch [TIMEOUT_S]\n");
  return 2;
}

int
main (int   argc,
      char *argv[])
{
  Probe probe = { .status = 1 };
  g_autoptr(GError) error = NULL;
  g_autofree char *own_name = NULL;
  const char *name;
  const char *own_txt[] = { "role=probe", NULL };
  const char * const *txt;
  guint64 port = 9;
  guint timeout_s = 60;

  if (argc < 2)
    return usage ();
  if (g_str_equal (argv[1], "publish") && argc >= 4)
    {
      probe.mode = MODE_PUBLISH;
      name = argv[2];
      if (!g_ascii_string_to_unsigned (argv[3], 10, 1, G_MAXUINT16, &port, &error))
        {
          fprintf (stderr, "PORT: %s\n", error->message);
          return 2;
        }
      probe.base_txt = g_strdupv (argv + 4);
      txt = (const char * const *) probe.base_txt;
      timeout_s = 0;
    }
  else if (((g_str_equal (argv[1], "browse") || g_str_equal (argv[1], "once")) && (argc == 3 || argc == 4))
           || (g_str_equal (argv[1], "watch") && (argc == 2 || argc == 3)))
    {
      int timeout_arg = g_str_equal (argv[1], "watch") ? 2 : 3;

      probe.mode = g_str_equal (argv[1], "browse") ? MODE_BROWSE
                   : g_str_equal (argv[1], "once") ? MODE_ONCE : MODE_WATCH;
      probe.entry = probe.mode != MODE_WATCH ? argv[2] : NULL;
      if (argc > timeout_arg)
        timeout_s = (guint) atoi (argv[timeout_arg]);
      own_name = g_strdup_printf ("probe-%d", (int) getpid ());
      name = own_name;
      txt = own_txt;
    }
  else
    return usage ();

  probe.loop = g_main_loop_new (NULL, FALSE);
  probe.discovery = tandem_discovery_new ();
  g_signal_connect (probe.discovery, "service-found", G_CALLBACK (on_found), &probe);
  g_signal_connect (probe.discovery, "service-lost", G_CALLBACK (on_lost), &probe);
  g_unix_signal_add (SIGTERM, on_quit_signal, &probe);
  g_unix_signal_add (SIGINT, on_quit_signal, &probe);
  if (probe.mode == MODE_PUBLISH)
    g_unix_signal_add (SIGUSR1, on_usr1, &probe);
  if (timeout_s > 0)
    g_timeout_add_seconds (timeout_s, on_timeout, &probe);

  if (!tandem_discovery_start (probe.discovery, name, (guint16) port, txt, &error))
    {
      fprintf (stderr, "error: %s\n", error->message);
      probe.status = 3;
    }
  else
    {
      g_autofree char *qname = quote (tandem_discovery_get_service_name (probe.discovery));

      printf ("started %s\n", qname);
      fflush (stdout);
      g_main_loop_run (probe.loop);
    }

  /* withdraws the service, so that browsers see it go at once */
  if (probe.discovery != NULL)
    {
      tandem_discovery_stop (probe.discovery);
      g_object_unref (probe.discovery);
    }
  /* what was left to do, such as freeing an Avahi client let go of while
   * Avahi was calling us */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_main_loop_unref (probe.loop);
  g_free (probe.followed);
  g_strfreev (probe.base_txt);
  return probe.status;
}
