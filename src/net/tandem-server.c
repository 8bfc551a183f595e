/* tandem-server.c: the WebSocket server other peers connect to
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One libsoup server over TLS with our own certificate, on all interfaces,
 * that asks every client for its certificate (mutual TLS) and accepts any:
 * peers are self-signed, and the membership proof that follows, bound to
 * the fingerprints seen here, decides who is a member. Each accepted
 * WebSocket becomes a TandemTransport, handed out with "new-transport".
 *
 * A burst of connections from one address must not starve the members, so
 * one address may hold only TANDEM_SERVER_MAX_PER_ADDRESS open at once.
 */
#include "tandem-server.h"

#include <libsoup/soup.h>

#include "tandem-websocket-transport.h"

struct _TandemServer
{
  GObject parent_instance;

  SoupServer *soup;
  GTlsCertificate *certificate;
  char *fingerprint;
  guint16 port;
  GHashTable *per_address;   /* host -> open count */
  guint n_refused;
};

G_DEFINE_FINAL_TYPE (TandemServer, tandem_server, G_TYPE_OBJECT)

enum { NEW_TRANSPORT, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
tandem_server_dispose (GObject *object)
{
  TandemServer *self = TANDEM_SERVER (object);

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
}

static gboolean
accept_any_certificate (SoupServerMessage    *message,
                        GTlsCertificate      *certificate,
                        GTlsCertificateFlags  errors,
                        gpointer              user_data)
{
  return TRUE;
}

static void
on_request_started (SoupServer        *server,
                    SoupServerMessage *message,
                    gpointer           user_data)
{
  g_signal_connect (message, "accept-certificate", G_CALLBACK (accept_any_certificate), NULL);
}

static void
on_transport_closed (TandemTransport *transport,
                     const char      *reason,
                     gpointer         user_data)
{
  TandemServer *self = user_data;
  const char *host = tandem_transport_get_remote_host (transport);
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_address, host));

  if (count <= 1)
    g_hash_table_remove (self->per_address, host);
  else
    g_hash_table_insert (self->per_address, g_strdup (host), GUINT_TO_POINTER (count - 1));
}

static void
on_websocket (SoupServer              *server,
              SoupServerMessage       *message,
              const char              *path,
              SoupWebsocketConnection *connection,
              gpointer                 user_data)
{
  TandemServer *self = user_data;
  GTlsCertificate *peer_certificate = soup_server_message_get_tls_peer_certificate (message);
  const char *host = soup_server_message_get_remote_host (message);
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_address, host ? host : ""));
  g_autofree char *fingerprint = NULL;
  g_autoptr(TandemTransport) transport = NULL;

  if (host == NULL || peer_certificate == NULL ||
      (fingerprint = tandem_certificate_fingerprint (peer_certificate)) == NULL)
    {
      soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
                                       "a client certificate is required");
      self->n_refused++;
      return;
    }
  if (count >= TANDEM_SERVER_MAX_PER_ADDRESS)
    {
      soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
                                       "too many connections from this address");
      self->n_refused++;
      return;
    }
  g_hash_table_insert (self->per_address, g_strdup (host), GUINT_TO_POINTER (count + 1));
  transport = tandem_websocket_transport_new (connection, TANDEM_ROLE_SERVER, self->fingerprint,
                                              fingerprint, host);
  g_signal_connect_object (transport, "closed", G_CALLBACK (on_transport_closed), self, 0);
  g_signal_emit (self, signals[NEW_TRANSPORT], 0, transport);
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
  self->soup = soup_server_new ("tls-certificate", certificate, "server-header", "Tandem", NULL);
  if (self->soup == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot make a TLS server");
      return NULL;
    }
  soup_server_set_tls_auth_mode (self->soup, G_TLS_AUTHENTICATION_REQUIRED);
  g_signal_connect (self->soup, "request-started", G_CALLBACK (on_request_started), self);
  soup_server_add_websocket_handler (self->soup, TANDEM_WEBSOCKET_PATH, NULL, NULL,
                                     on_websocket, self, NULL);
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
  g_autoptr(GSList) uris = NULL;

  g_return_val_if_fail (TANDEM_IS_SERVER (self), FALSE);

  if (!soup_server_listen_all (self->soup, port, SOUP_SERVER_LISTEN_HTTPS, error))
    return FALSE;
  uris = soup_server_get_uris (self->soup);
  if (uris != NULL)
    self->port = (guint16) g_uri_get_port (uris->data);
  g_slist_free_full (g_steal_pointer (&uris), (GDestroyNotify) g_uri_unref);
  return TRUE;
}

guint16
tandem_server_get_port (TandemServer *self)
{
  g_return_val_if_fail (TANDEM_IS_SERVER (self), 0);
  return self->port;
}

/* Connections turned away (no certificate, too many from one address). */
guint
tandem_server_get_n_refused (TandemServer *self)
{
  g_return_val_if_fail (TANDEM_IS_SERVER (self), 0);
  return self->n_refused;
}
