/* ws-echo.c: the floor for the network latency of the Tandem benchmark
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A bare libsoup WebSocket echo over TLS on loopback, set up the way Tandem's
 * peers talk (src/net): a SoupServer with a self-signed certificate that
 * requires the client's certificate too, a client SoupSession that offers
 * permessage-deflate, text frames.  No sync protocol, no JSON parsing, no
 * store: one round trip of a ~100-byte text frame is about the least a
 * keystroke can cost on its way to another peer and back, so half of it is
 * the floor for "keystroke to remote apply".
 *
 *   bench-ws-echo [--count N] [--size BYTES] [--warmup K]
 *
 * The server runs in a child process (two processes, like two peers, each
 * with its own main loop); the certificate is made at run time by
 * `openssl req` in a temporary folder.  Prints one JSON line:
 *   {"count":N,"size":B,"deflate":true,"p50_us":X,"p99_us":Y,"mean_us":M,
 *    "min_us":A,"max_us":Z}
 */

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct
{
  GMainLoop *loop;
  SoupWebsocketConnection *ws;
  GTlsCertificate *certificate;
  gboolean got;
  GError *error;
} Client;

static gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A self-signed ECDSA P-256 certificate (what Tandem's identities use), made
 * by openssl into @dir. */
static GTlsCertificate *
make_certificate (const char *dir,
                  GError    **error)
{
  g_autofree char *cert = g_build_filename (dir, "cert.pem", NULL);
  g_autofree char *key = g_build_filename (dir, "key.pem", NULL);
  const char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                         "/CN=ws-echo", "-keyout", key, "-out", cert, NULL };
  int status = 0;

  if (!g_spawn_sync (NULL, (char **) argv, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, NULL, NULL, &status, error) ||
      !g_spawn_check_wait_status (status, error))
    return NULL;
  return g_tls_certificate_new_from_files (cert, key, error);
}

/* Makes a certificate in a temporary folder and removes the files. */
static GTlsCertificate *
new_certificate (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("ws-echo-XXXXXX", &error);
  g_autofree char *cert = NULL, *key = NULL;
  GTlsCertificate *certificate = dir ? make_certificate (dir, &error) : NULL;

  if (certificate == NULL)
    g_printerr ("ws-echo: cannot make a certificate: %s\n", error->message);
  if (dir != NULL)
    {
      cert = g_build_filename (dir, "cert.pem", NULL);
      key = g_build_filename (dir, "key.pem", NULL);
      g_unlink (cert);
      g_unlink (key);
      g_rmdir (dir);
    }
  return certificate;
}

/* ---- the server (child process) ---- */

static gboolean
accept_any_certificate (SoupServerMessage    *msg,
                        GTlsCertificate      *certificate,
                        GTlsCertificateFlags  errors,
                        gpointer              user_data)
{
  return TRUE;   /* as Tandem's server: who it is is checked by the protocol */
}

static void
on_request_started (SoupServer        *server,
                    SoupServerMessage *msg,
                    gpointer           user_data)
{
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (accept_any_certificate), NULL);
}

static void
on_server_message (SoupWebsocketConnection *ws,
                   int                      type,
                   GBytes                  *message,
                   gpointer                 user_data)
{
  soup_websocket_connection_send_message (ws, type, message);
}

static void
on_websocket (SoupServer              *server,
              SoupServerMessage       *msg,
              const char              *path,
              SoupWebsocketConnection *ws,
              gpointer                 user_data)
{
  soup_websocket_connection_set_keepalive_interval (ws, 0);
  g_signal_connect (g_object_ref (ws), "message", G_CALLBACK (on_server_message), NULL);
}

static int
serve (int port_fd)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) certificate = new_certificate ();
  g_autoptr(SoupServer) server = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  GSList *uris;
  guint16 port;

  if (certificate == NULL)
    return 1;
  server = soup_server_new ("tls-certificate", certificate, NULL);
  g_signal_connect (server, "request-started", G_CALLBACK (on_request_started), NULL);

  /* permessage-deflate is on by default in a libsoup 3 server */
  soup_server_set_tls_auth_mode (server, G_TLS_AUTHENTICATION_REQUIRED);
  soup_server_add_websocket_handler (server, "/echo", NULL, NULL, on_websocket, NULL, NULL);
  if (!soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_HTTPS | SOUP_SERVER_LISTEN_IPV4_ONLY,
                                 &error))
    {
      g_printerr ("ws-echo server: %s\n", error->message);
      return 1;
    }
  uris = soup_server_get_uris (server);
  port = (guint16) g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  if (write (port_fd, &port, sizeof port) != sizeof port)
    return 1;
  close (port_fd);
  g_main_loop_run (loop);
  return 0;
}

/* ---- the client (parent process) ---- */

static gboolean
on_accept_certificate (SoupMessage          *msg,
                       GTlsCertificate      *certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  return TRUE;   /* self-signed, as in Tandem, which pins fingerprints instead */
}

static void
on_request_certificate (SoupMessage          *msg,
                        GTlsClientConnection *connection,
                        gpointer              user_data)
{
  Client *client = user_data;

  soup_message_set_tls_client_certificate (msg, client->certificate);
}

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Client *client = user_data;

  client->ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &client->error);
  g_main_loop_quit (client->loop);
}

static void
on_client_message (SoupWebsocketConnection *ws,
                   int                      type,
                   GBytes                  *message,
                   gpointer                 user_data)
{
  ((Client *) user_data)->got = TRUE;
}

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return (x > y) - (x < y);
}

static double
percentile (GArray *sorted,
            double  p)
{
  /* nearest rank, like the Python side of the benchmark */
  guint rank = (guint) MAX (1.0, (p / 100.0) * sorted->len + 0.999999);

  return g_array_index (sorted, gint64, MIN (rank, sorted->len) - 1) / 1000.0;
}

/* One frame like a Tandem "events" message of one keystroke, different
 * every time so that deflate works as it would on real traffic. */
static GBytes *
make_frame (guint i,
            guint size)
{
  GString *s = g_string_new (NULL);

  g_string_printf (s, "{\"t\":\"events\",\"note\":\"%08x%08x\",\"runs\":[{\"id\":[\"4582f54887d0c402\",%u],"
                   "\"pos\":%u,\"text\":\"%c\"}]}", g_random_int (), i, i, i % 977, 'a' + (char) (i % 26));
  while (s->len < size)
    g_string_append_c (s, ' ');
  return g_string_free_to_bytes (s);
}

static int
run_client (GTlsCertificate *certificate,
            guint16          port,
            guint            count,
            guint            size,
            guint            warmup)
{
  Client client = { 0 };
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(SoupMessage) msg = NULL;
  g_autofree char *url = g_strdup_printf ("wss://127.0.0.1:%u/echo", port);
  g_autoptr(GArray) times = g_array_sized_new (FALSE, FALSE, sizeof (gint64), count);
  gboolean deflate = FALSE;
  double sum = 0;

  client.loop = g_main_loop_new (NULL, FALSE);
  client.certificate = certificate;
  /* libsoup 3.2's client offers permessage-deflate only with this */
  soup_session_add_feature_by_type (session, SOUP_TYPE_WEBSOCKET_EXTENSION_MANAGER);
  msg = soup_message_new (SOUP_METHOD_GET, url);
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (on_accept_certificate), &client);
  g_signal_connect (msg, "request-certificate", G_CALLBACK (on_request_certificate), &client);
  soup_session_websocket_connect_async (session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        on_connected, &client);
  g_main_loop_run (client.loop);
  if (client.ws == NULL)
    {
      g_printerr ("ws-echo: cannot connect: %s\n", client.error->message);
      return 1;
    }
  for (GList *l = soup_websocket_connection_get_extensions (client.ws); l; l = l->next)
    deflate |= SOUP_IS_WEBSOCKET_EXTENSION_DEFLATE (l->data);
  soup_websocket_connection_set_keepalive_interval (client.ws, 0);
  g_signal_connect (client.ws, "message", G_CALLBACK (on_client_message), &client);

  for (guint i = 0; i < warmup + count; i++)
    {
      g_autoptr(GBytes) frame = make_frame (i, size);
      gint64 start = now_ns ();

      client.got = FALSE;
      soup_websocket_connection_send_message (client.ws, SOUP_WEBSOCKET_DATA_TEXT, frame);
      while (!client.got)
        {
          if (soup_websocket_connection_get_state (client.ws) != SOUP_WEBSOCKET_STATE_OPEN)
            {
              g_printerr ("ws-echo: the connection closed\n");
              return 1;
            }
          g_main_context_iteration (NULL, TRUE);
        }
      if (i >= warmup)
        {
          gint64 t = now_ns () - start;

          g_array_append_val (times, t);
          sum += t;
        }
    }
  soup_websocket_connection_close (client.ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_array_sort (times, compare_gint64);
  printf ("{\"count\":%u,\"size\":%u,\"deflate\":%s,\"p50_us\":%.1f,\"p99_us\":%.1f,"
          "\"mean_us\":%.1f,\"min_us\":%.1f,\"max_us\":%.1f}\n",
          count, size, deflate ? "true" : "false", percentile (times, 50), percentile (times, 99),
          sum / count / 1000.0, g_array_index (times, gint64, 0) / 1000.0,
          g_array_index (times, gint64, times->len - 1) / 1000.0);
  g_clear_object (&client.ws);
  g_main_loop_unref (client.loop);
  return 0;
}

int
main (int    argc,
      char **argv)
{
  guint64 count = 2000, size = 100, warmup = 100;
  g_autoptr(GTlsCertificate) certificate = NULL;
  int fds[2], status = 0, ret = 1;
  guint16 port = 0;
  pid_t child;

  for (int i = 1; i < argc; i++)
    {
      guint64 *target = g_str_equal (argv[i], "--count") ? &count
                        : g_str_equal (argv[i], "--size") ? &size
                        : g_str_equal (argv[i], "--warmup") ? &warmup : NULL;

      if (target == NULL || i + 1 >= argc ||
          !g_ascii_string_to_unsigned (argv[++i], 10, target == &warmup ? 0 : 1, 1 << 20, target, NULL))
        {
          g_printerr ("usage: %s [--count N] [--size BYTES] [--warmup K]\n", argv[0]);
          return 2;
        }
    }

  /* fork before GIO is set up, so each process starts clean */
  if (pipe (fds) != 0 || (child = fork ()) < 0)
    return 1;
  if (child == 0)
    {
      close (fds[0]);
      _exit (serve (fds[1]));
    }
  close (fds[1]);
  if (read (fds[0], &port, sizeof port) != sizeof port)
    g_printerr ("ws-echo: the server did not start\n");
  else if ((certificate = new_certificate ()) != NULL)
    ret = run_client (certificate, port, (guint) count, (guint) size, (guint) warmup);
  close (fds[0]);
  kill (child, SIGTERM);
  waitpid (child, &status, 0);
  return ret;
}
