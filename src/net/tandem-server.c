/* tandem-server.c: the WebSocket server other peers connect to
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The server accepts TCP connections itself, runs the TLS handshake with
 * our own certificate (asking the client for its certificate and accepting
 * any: peers are self-signed, and the membership proof that follows,
 * bound to the fingerprints seen here, decides who is a member), and only
 * then hands the encrypted stream to libsoup for the WebSocket upgrade.
 * Each accepted WebSocket becomes a TandemTransport, handed out with
 * "new-transport".
 *
 * Doing the handshake here puts a deadline on every stage, so connections
 * that stall (a burst of them, or a scanner) cannot pile up: the TLS
 * handshake must end within HANDSHAKE_S and the upgrade within
 * UPGRADE_S, or the connection is closed. One address may hold at most
 * TANDEM_SERVER_MAX_PER_ADDRESS connections at any stage.
 */
#include "tandem-server.h"

#include <libsoup/soup.h>

#include "tandem-websocket-transport.h"

#define HANDSHAKE_S 5
#define UPGRADE_S   10

struct _TandemServer
{
  GObject parent_instance;

  SoupServer *soup;
  GSocketService *service;
  GTlsCertificate *certificate;
  char *fingerprint;
  guint16 port;
  GHashTable *per_address;   /* host -> connections, any stage */
  GHashTable *pending;       /* "host:port" -> Pending, handshaking or upgrading */
};

G_DEFINE_FINAL_TYPE (TandemServer, tandem_server, G_TYPE_OBJECT)

enum { NEW_TRANSPORT, N_SIGNALS };
static guint signals[N_SIGNALS];

/* A connection on its way: its TLS stream, the client certificate's
 * fingerprint once the handshake ended, and the deadline. */
typedef struct
{
  TandemServer *server;       /* weak: the server cancels its pending ones */
  char *key;                  /* "host:port" */
  char *host;
  GTlsConnection *tls;
  char *fingerprint;
  GCancellable *cancellable;
  guint deadline_id;
} Pending;

static void
release_address (TandemServer *self,
                 const char   *host)
{
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_address, host));

  if (count <= 1)
    g_hash_table_remove (self->per_address, host);
  else
    g_hash_table_insert (self->per_address, g_strdup (host), GUINT_TO_POINTER (count - 1));
}

static void
pending_free (Pending *pending)
{
  g_clear_handle_id (&pending->deadline_id, g_source_remove);
  g_cancellable_cancel (pending->cancellable);
  g_clear_object (&pending->cancellable);
  g_clear_object (&pending->tls);
  g_free (pending->key);
  g_free (pending->host);
  g_free (pending->fingerprint);
  g_free (pending);
}

/* Gives up on a pending connection: closes it, frees its address slot. */
static void
drop_pending (TandemServer *self,
              Pending      *pending)
{
  if (pending->tls != NULL)
    g_io_stream_close_async (G_IO_STREAM (pending->tls), G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  release_address (self, pending->host);
  g_hash_table_remove (self->pending, pending->key);   /* frees it */
}

static gboolean
deadline_passed (gpointer data)
{
  Pending *pending = data;

  pending->deadline_id = 0;
  drop_pending (pending->server, pending);
  return G_SOURCE_REMOVE;
}

static void
tandem_server_dispose (GObject *object)
{
  TandemServer *self = TANDEM_SERVER (object);

  if (self->service != NULL)
    {
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
      g_signal_handlers_disconnect_by_data (self->service, self);
    }
  g_clear_object (&self->service);
  if (self->pending != NULL)
    g_hash_table_remove_all (self->pending);
  if (self->soup != NULL)
    soup_server_disconnect (self->soup);
  g_clear_object (&self->soup);
  g_clear_object (&self->certificate);
  G_OBJECT_CLASS (tandem_server_parent_class)->dispose (object);
}

static void
tandem_server_finalize (GObject *object)
{
  TandemServer *self = TANDEM_SERVER (object);

  g_free (self->fingerprint);
  g_hash_table_unref (self->per_address);
  g_hash_table_unref (self->pending);
  G_OBJECT_CLASS (tandem_server_parent_class)->finalize (object);
}

static void
tandem_server_class_init (TandemServerClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = tandem_server_dispose;
  G_OBJECT_CLASS (klass)->finalize = tandem_server_finalize;

  /**
   * TandemServer::new-transport:
   * @transport: the accepted connection; connect to it to keep it
   */
  signals[NEW_TRANSPORT] = g_signal_new ("new-transport", G_TYPE_FROM_CLASS (klass),
                                         G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                         G_TYPE_NONE, 1, TANDEM_TYPE_TRANSPORT);
}

static void
tandem_server_init (TandemServer *self)
{
  self->per_address = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->pending = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) pending_free);
}

static char *
address_key (GSocketAddress *address,
             char          **host)
{
  GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (address);
  g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (inet));
  char *key = g_strdup_printf ("%s:%u", ip, g_inet_socket_address_get_port (inet));

  if (host != NULL)
    *host = g_steal_pointer (&ip);
  return key;
}

static void
on_transport_closed (TandemTransport *transport,
                     const char      *reason,
                     gpointer         user_data)
{
  release_address (TANDEM_SERVER (user_data), tandem_transport_get_remote_host (transport));
}

static void
on_websocket (SoupServer              *server,
              SoupServerMessage       *message,
              const char              *path,
              SoupWebsocketConnection *connection,
              gpointer                 user_data)
{
  TandemServer *self = user_data;
  GSocketAddress *remote = soup_server_message_get_remote_address (message);
  g_autofree char *key = remote ? address_key (remote, NULL) : NULL;
  Pending *pending = key ? g_hash_table_lookup (self->pending, key) : NULL;
  g_autoptr(TandemTransport) transport = NULL;
  g_autofree char *host = NULL;

  if (pending == NULL || pending->fingerprint == NULL)
    {
      soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
                                       "a client certificate is required");
      return;
    }
  /* from here the transport holds the address slot */
  host = g_strdup (pending->host);
  transport = tandem_websocket_transport_new (connection, TANDEM_ROLE_SERVER, self->fingerprint,
                                              pending->fingerprint, host);
  g_clear_handle_id (&pending->deadline_id, g_source_remove);
  g_hash_table_remove (self->pending, key);
  g_signal_connect_object (transport, "closed", G_CALLBACK (on_transport_closed), self, 0);
  g_signal_emit (self, signals[NEW_TRANSPORT], 0, transport);
}

static gboolean
accept_any_certificate (GTlsConnection       *tls,
                        GTlsCertificate      *certificate,
                        GTlsCertificateFlags  errors,
                        gpointer              user_data)
{
  return TRUE;
}

static void
handshake_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  Pending *pending = user_data;
  TandemServer *self;
  GTlsCertificate *peer_certificate;
  g_autoptr(GSocketAddress) local = NULL;
  g_autoptr(GSocketAddress) remote = NULL;
  GSocketConnection *base = NULL;

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error))
    {
      /* cancelled: the server or the deadline dropped it already */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_debug ("TLS handshake with %s failed: %s", pending->key, error->message);
          drop_pending (pending->server, pending);
        }
      return;
    }
  self = pending->server;
  peer_certificate = g_tls_connection_get_peer_certificate (pending->tls);
  if (peer_certificate == NULL ||
      (pending->fingerprint = tandem_certificate_fingerprint (peer_certificate)) == NULL)
    {
      drop_pending (self, pending);
      return;
    }
  g_object_get (pending->tls, "base-io-stream", &base, NULL);
  local = g_socket_connection_get_local_address (base, NULL);
  remote = g_socket_connection_get_remote_address (base, NULL);
  g_clear_object (&base);
  /* the upgrade has its own deadline */
  g_clear_handle_id (&pending->deadline_id, g_source_remove);
  pending->deadline_id = g_timeout_add_seconds (UPGRADE_S, deadline_passed, pending);
  if (!soup_server_accept_iostream (self->soup, G_IO_STREAM (pending->tls), local, remote, &error))
    {
      g_debug ("libsoup refused %s: %s", pending->key, error->message);
      drop_pending (self, pending);
    }
}

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source,
             gpointer           user_data)
{
  TandemServer *self = user_data;
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (connection, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *host = NULL;
  g_autofree char *key = NULL;
  GIOStream *tls;
  Pending *pending;
  guint count;

  if (remote == NULL || !G_IS_INET_SOCKET_ADDRESS (remote))
    return TRUE;   /* closed when the connection is dropped */
  key = address_key (remote, &host);
  count = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_address, host));
  if (count >= TANDEM_SERVER_MAX_PER_ADDRESS || g_hash_table_contains (self->pending, key))
    return TRUE;   /* refused: the connection is closed when dropped */
  tandem_websocket_set_no_delay (connection);
  /* No CA database: a member's certificate is self-signed and pinned by
   * the sync protocol, and glib-networking would otherwise load the
   * system's whole CA list for every connection (about 4 MB each). */
  tls = g_initable_new (g_tls_backend_get_server_connection_type (g_tls_backend_get_default ()), NULL, &error,
                        "base-io-stream", connection, "certificate", self->certificate, "database", NULL,
                        NULL);
  if (tls == NULL)
    {
      g_warning ("Cannot make a TLS connection: %s", error->message);
      return TRUE;
    }
  g_object_set (tls, "authentication-mode", G_TLS_AUTHENTICATION_REQUIRED, NULL);
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (accept_any_certificate), NULL);

  pending = g_new0 (Pending, 1);
  pending->server = self;
  pending->key = g_steal_pointer (&key);
  pending->host = g_strdup (host);
  pending->tls = G_TLS_CONNECTION (tls);
  pending->cancellable = g_cancellable_new ();
  pending->deadline_id = g_timeout_add_seconds (HANDSHAKE_S, deadline_passed, pending);
  g_hash_table_insert (self->pending, pending->key, pending);
  g_hash_table_insert (self->per_address, g_strdup (host), GUINT_TO_POINTER (count + 1));
  g_tls_connection_handshake_async (pending->tls, G_PRIORITY_DEFAULT, pending->cancellable,
                                    handshake_done, pending);
  return TRUE;
}

/**
 * tandem_server_new:
 * @certificate: our certificate with its private key
 *
 * Returns: (transfer full): a server, not yet listening
 */
TandemServer *
tandem_server_new (GTlsCertificate  *certificate,
                   GError          **error)
{
  g_autoptr(TandemServer) self = g_object_new (TANDEM_TYPE_SERVER, NULL);

  self->certificate = g_object_ref (certificate);
  self->fingerprint = tandem_certificate_fingerprint (certificate);
  if (!g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "TLS is not available (is glib-networking installed?)");
      return NULL;
    }
  /* plain HTTP: the streams it gets are TLS already */
  self->soup = soup_server_new ("server-header", "Tandem", NULL);
  soup_server_add_websocket_handler (self->soup, TANDEM_WEBSOCKET_PATH, NULL, NULL,
                                     on_websocket, self, NULL);
  self->service = g_socket_service_new ();
  g_signal_connect (self->service, "incoming", G_CALLBACK (on_incoming), self);
  return g_steal_pointer (&self);
}

/**
 * tandem_server_listen:
 * @port: 0 for any free port
 *
 * Listens on every interface, IPv4 and IPv6, with TLS.
 */
gboolean
tandem_server_listen (TandemServer  *self,
                      guint16        port,
                      GError       **error)
{
  g_return_val_if_fail (TANDEM_IS_SERVER (self), FALSE);

  if (port == 0)
    {
      self->port = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (self->service), NULL, error);
      if (self->port == 0)
        return FALSE;
    }
  else
    {
      if (!g_socket_listener_add_inet_port (G_SOCKET_LISTENER (self->service), port, NULL, error))
        return FALSE;
      self->port = port;
    }
  g_socket_service_start (self->service);
  return TRUE;
}

guint16
tandem_server_get_port (TandemServer *self)
{
  g_return_val_if_fail (TANDEM_IS_SERVER (self), 0);
  return self->port;
}
