/* tandem-websocket-transport.c: a transport over a libsoup WebSocket with TLS
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Peers have self-signed certificates, so no certificate authority vouches
 * for anybody: the client accepts any certificate during the handshake and
 * remembers its fingerprint; the membership proof, which is bound to the
 * fingerprints both ends saw, then decides whether the other side is a
 * member. When the caller already knows the fingerprint of the peer it
 * dials (a pinned member), any other certificate fails the handshake.
 * Both ends present certificates (mutual TLS).
 *
 * A peer that stops reading (hung, or hostile) is closed once its pongs
 * stop, before what libsoup queues for it grows large: see
 * TANDEM_WEBSOCKET_UNREAD_MS.
 */
#include "tandem-websocket-transport.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

struct _TandemWebsocketTransport
{
  TandemTransport parent_instance;

  SoupWebsocketConnection *connection;
  gint64 last_pong;             /* or when the link opened */
  guint reading_check_id;
};

G_DEFINE_FINAL_TYPE (TandemWebsocketTransport, tandem_websocket_transport, TANDEM_TYPE_TRANSPORT)

/**
 * tandem_certificate_fingerprint:
 *
 * Returns: (transfer full): the SHA-256 of the certificate's DER form, 64
 *   lowercase hex digits, as the store computes for our own
 */
char *
tandem_certificate_fingerprint (GTlsCertificate *certificate)
{
  g_autoptr(GByteArray) der = NULL;

  g_object_get (certificate, "certificate", &der, NULL);
  if (der == NULL)
    return NULL;
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, der->data, der->len);
}

static void
on_message (SoupWebsocketConnection *connection,
            SoupWebsocketDataType    type,
            GBytes                  *message,
            gpointer                 user_data)
{
  TandemTransport *self = user_data;
  gsize len;
  const char *data = g_bytes_get_data (message, &len);

  /* a binary frame is handed on as "no text", for the protocol to refuse
   * with an error frame that says why */
  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    _tandem_transport_received (self, NULL, 0);
  else
    _tandem_transport_received (self, data, len);
}

static void
on_pong (SoupWebsocketConnection *connection,
         GBytes                  *message,
         gpointer                 user_data)
{
  TandemWebsocketTransport *self = user_data;

  self->last_pong = g_get_monotonic_time ();
}

static gboolean
check_reading (gpointer user_data)
{
  TandemWebsocketTransport *self = user_data;

  if (g_get_monotonic_time () - self->last_pong <= TANDEM_WEBSOCKET_UNREAD_MS * (gint64) 1000)
    return G_SOURCE_CONTINUE;
  self->reading_check_id = 0;
  tandem_transport_close (TANDEM_TRANSPORT (self), "no pong for 8 s: the other side does not read what we send");
  return G_SOURCE_REMOVE;
}

static void
on_closed (SoupWebsocketConnection *connection,
           gpointer                 user_data)
{
  TandemTransport *self = user_data;
  const char *reason = soup_websocket_connection_get_close_data (connection);
  g_autofree char *message = NULL;

  g_clear_handle_id (&TANDEM_WEBSOCKET_TRANSPORT (self)->reading_check_id, g_source_remove);
  if (reason == NULL || *reason == '\0')
    message = g_strdup_printf ("connection closed (code %u)",
                               soup_websocket_connection_get_close_code (connection));
  _tandem_transport_closed (self, message ? message : reason);
}

static void
on_error (SoupWebsocketConnection *connection,
          GError                  *error,
          gpointer                 user_data)
{
  g_debug ("WebSocket error from %s: %s",
           tandem_transport_get_remote_host (TANDEM_TRANSPORT (user_data)), error->message);
}

static void
tandem_websocket_transport_send (TandemTransport *transport,
                                 const char      *text,
                                 gsize            len)
{
  TandemWebsocketTransport *self = TANDEM_WEBSOCKET_TRANSPORT (transport);
  g_autoptr(GBytes) bytes = NULL;

  if (soup_websocket_connection_get_state (self->connection) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  /* libsoup frames (and copies) it at once, so no copy is needed here */
  bytes = g_bytes_new_static (text, len);
  soup_websocket_connection_send_message (self->connection, SOUP_WEBSOCKET_DATA_TEXT, bytes);
}

static void
tandem_websocket_transport_close (TandemTransport *transport,
                                  const char      *reason)
{
  TandemWebsocketTransport *self = TANDEM_WEBSOCKET_TRANSPORT (transport);

  g_clear_handle_id (&self->reading_check_id, g_source_remove);
  if (soup_websocket_connection_get_state (self->connection) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (self->connection, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, reason);
  /* do not wait for the other side's close frame: a hostile or dead peer
   * may never send it */
  _tandem_transport_closed (transport, reason);
}

static void
tandem_websocket_transport_dispose (GObject *object)
{
  TandemWebsocketTransport *self = TANDEM_WEBSOCKET_TRANSPORT (object);

  g_clear_handle_id (&self->reading_check_id, g_source_remove);
  if (self->connection != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->connection, self);
      if (soup_websocket_connection_get_state (self->connection) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (self->connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
      /* A closing connection is left to finish on its own: libsoup reads
       * (and drops) what the other side still sends until its close frame,
       * or gives up after 5 s. Freed now, its socket would be closed with
       * unread data in it, which resets the TCP connection, and the reset
       * can destroy our last frames (the error saying why) before the other
       * side reads them. */
      if (soup_websocket_connection_get_state (self->connection) != SOUP_WEBSOCKET_STATE_CLOSED)
        g_signal_connect (g_steal_pointer (&self->connection), "closed", G_CALLBACK (g_object_unref), NULL);
      else
        g_clear_object (&self->connection);
    }
  G_OBJECT_CLASS (tandem_websocket_transport_parent_class)->dispose (object);
}

static void
tandem_websocket_transport_class_init (TandemWebsocketTransportClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = tandem_websocket_transport_dispose;
  TANDEM_TRANSPORT_CLASS (klass)->send = tandem_websocket_transport_send;
  TANDEM_TRANSPORT_CLASS (klass)->close = tandem_websocket_transport_close;
}

static void
tandem_websocket_transport_init (TandemWebsocketTransport *self)
{
}

/**
 * tandem_websocket_transport_new:
 * @connection: an open WebSocket
 *
 * Returns: (transfer full): a transport that owns @connection
 */
TandemTransport *
tandem_websocket_transport_new (SoupWebsocketConnection *connection,
                                TandemRole               role,
                                const char              *local_fingerprint,
                                const char              *remote_fingerprint,
                                const char              *remote_host)
{
  TandemWebsocketTransport *self = g_object_new (TANDEM_TYPE_WEBSOCKET_TRANSPORT, NULL);

  self->connection = g_object_ref (connection);
  _tandem_transport_setup (TANDEM_TRANSPORT (self), role, local_fingerprint, remote_fingerprint,
                           remote_host);
  /* room above the protocol's limit, so that a frame just over it is
   * refused by the protocol with a reason rather than dropped by libsoup */
  soup_websocket_connection_set_max_incoming_payload_size (connection, 2 * TANDEM_TRANSPORT_MAX_FRAME);
  /* liveness (silence from the other side) is the sync session's job,
   * over any transport; libsoup's pings tell whether the other side still
   * reads what we send */
  self->last_pong = g_get_monotonic_time ();
  soup_websocket_connection_set_keepalive_interval (connection, TANDEM_WEBSOCKET_PING_S);
  self->reading_check_id = g_timeout_add (1000, check_reading, self);
  g_debug ("WebSocket %s %s: %s", role == TANDEM_ROLE_CLIENT ? "to" : "from", remote_host,
           soup_websocket_connection_get_extensions (connection) ? "permessage-deflate" : "uncompressed");
  g_signal_connect_object (connection, "message", G_CALLBACK (on_message), self, 0);
  g_signal_connect_object (connection, "closed", G_CALLBACK (on_closed), self, 0);
  g_signal_connect_object (connection, "error", G_CALLBACK (on_error), self, 0);
  g_signal_connect_object (connection, "pong", G_CALLBACK (on_pong), self, 0);
  return TANDEM_TRANSPORT (self);
}

typedef struct
{
  SoupSession *session;
  SoupMessage *message;
  GTlsCertificate *certificate;
  char *pinned;
  char *seen;
  char *host;
} ConnectData;

static void
connect_data_free (ConnectData *data)
{
  g_clear_object (&data->session);
  g_clear_object (&data->message);
  g_clear_object (&data->certificate);
  g_free (data->pinned);
  g_free (data->seen);
  g_free (data->host);
  g_free (data);
}

static gboolean
on_accept_certificate (SoupMessage          *message,
                       GTlsCertificate      *certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  ConnectData *data = user_data;
  g_autofree char *fingerprint = tandem_certificate_fingerprint (certificate);

  /* self-signed is expected; what matters is which certificate it is */
  if (fingerprint == NULL)
    return FALSE;
  if (data->pinned != NULL && g_strcmp0 (data->pinned, fingerprint) != 0)
    return FALSE;
  g_free (data->seen);
  data->seen = g_steal_pointer (&fingerprint);
  return TRUE;
}

static void
on_request_certificate (SoupMessage          *message,
                        GTlsClientConnection *connection,
                        gpointer              user_data)
{
  ConnectData *data = user_data;

  soup_message_set_tls_client_certificate (message, data->certificate);
}

static void
connected (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ConnectData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupWebsocketConnection) connection = NULL;
  g_autofree char *local = NULL;

  connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (connection == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (data->seen == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                               "%s did not present a certificate", data->host);
      return;
    }
  local = tandem_certificate_fingerprint (data->certificate);
  g_task_return_pointer (task,
                         tandem_websocket_transport_new (connection, TANDEM_ROLE_CLIENT, local,
                                                         data->seen, data->host),
                         g_object_unref);
}

/**
 * tandem_websocket_set_no_delay:
 *
 * Turns off Nagle's algorithm on a peer link. A keystroke is one small
 * frame; with Nagle on, it waited for the acknowledgement of the frame
 * before it (a "have"), which the other side delays until it sends
 * something itself: while two people typed, one direction lagged by the
 * gap between their keystrokes (26 ms p50 at 20 keys/s, 1.5 ms without).
 */
void
tandem_websocket_set_no_delay (GSocketConnection *connection)
{
  g_autoptr(GError) error = NULL;
  GSocket *socket = g_socket_connection_get_socket (connection);

  if (g_socket_get_family (socket) != G_SOCKET_FAMILY_UNIX &&
      !g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, TRUE, &error))
    g_debug ("Cannot set TCP_NODELAY: %s", error->message);
}

static void
on_network_event (SoupMessage        *message,
                  GSocketClientEvent  event,
                  GIOStream          *connection,
                  gpointer            user_data)
{
  if (event == G_SOCKET_CLIENT_CONNECTED && G_IS_SOCKET_CONNECTION (connection))
    tandem_websocket_set_no_delay (G_SOCKET_CONNECTION (connection));
}

/**
 * tandem_websocket_transport_connect_async:
 * @host: a host name or numeric address (IPv6 without brackets)
 * @certificate: ours, with its private key, shown to the server
 * @pinned_fingerprint: (nullable): the only server certificate to accept
 *
 * Opens `wss://host:port/tandem/1` with permessage-deflate.
 */
void
tandem_websocket_transport_connect_async (const char          *host,
                                          guint16              port,
                                          GTlsCertificate     *certificate,
                                          const char          *pinned_fingerprint,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  ConnectData *data = g_new0 (ConnectData, 1);
  g_autoptr(GUri) uri = NULL;

  g_task_set_source_tag (task, tandem_websocket_transport_connect_async);
  g_task_set_task_data (task, data, (GDestroyNotify) connect_data_free);
  data->host = g_strdup (host);
  data->pinned = g_strdup (pinned_fingerprint);
  data->certificate = g_object_ref (certificate);
  /* peers are on the LAN: never through a proxy; and no CA database (the
   * server's certificate is pinned, see on_accept_certificate), which
   * would be the system's whole CA list loaded for every connection */
  data->session = soup_session_new_with_options ("timeout", 10, "idle-timeout", 0,
                                                 "proxy-resolver", NULL, "tls-database", NULL, NULL);
  /* libsoup 3.2's client offers permessage-deflate only with this */
  soup_session_add_feature_by_type (data->session, SOUP_TYPE_WEBSOCKET_EXTENSION_MANAGER);

  uri = g_uri_build (G_URI_FLAGS_NONE, "wss", NULL, host, port, TANDEM_WEBSOCKET_PATH, NULL, NULL);
  data->message = soup_message_new_from_uri (SOUP_METHOD_GET, uri);
  g_signal_connect (data->message, "accept-certificate", G_CALLBACK (on_accept_certificate), data);
  g_signal_connect (data->message, "request-certificate", G_CALLBACK (on_request_certificate), data);
  g_signal_connect (data->message, "network-event", G_CALLBACK (on_network_event), NULL);
  soup_session_websocket_connect_async (data->session, data->message, NULL, NULL, G_PRIORITY_DEFAULT,
                                        cancellable, connected, task);
}

/**
 * tandem_websocket_transport_connect_finish:
 *
 * Returns: (transfer full): the open transport, or %NULL with @error set
 */
TandemTransport *
tandem_websocket_transport_connect_finish (GAsyncResult  *result,
                                           GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
