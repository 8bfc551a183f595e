/* tandem-transport.c: one connection to another peer, carrying text frames
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The sync protocol runs over this and nothing else, so the same code runs
 * over a real WebSocket with TLS (TandemWebsocketTransport) and over an
 * in-process pair for tests (TandemMemoryTransport). A transport knows the
 * certificate fingerprints each end showed, which the membership proof is
 * bound to.
 *
 * Signals: "received" (text, length) for each text frame (text %NULL for
 * a frame that was not text), and "closed" (reason) once, when either side
 * closes or the link fails.
 */
#include "tandem-transport.h"

typedef struct
{
  TandemRole role;
  char *local_fingerprint;
  char *remote_fingerprint;
  char *remote_host;
  gboolean closed;
} TandemTransportPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (TandemTransport, tandem_transport, G_TYPE_OBJECT)

enum { RECEIVED, CLOSED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
tandem_transport_finalize (GObject *object)
{
  TandemTransportPrivate *priv = tandem_transport_get_instance_private (TANDEM_TRANSPORT (object));

  g_free (priv->local_fingerprint);
  g_free (priv->remote_fingerprint);
  g_free (priv->remote_host);
  G_OBJECT_CLASS (tandem_transport_parent_class)->finalize (object);
}

static void
tandem_transport_class_init (TandemTransportClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tandem_transport_finalize;

  signals[RECEIVED] = g_signal_new ("received", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                    NULL, NULL, NULL, G_TYPE_NONE, 2,
                                    G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE, G_TYPE_UINT64);
  signals[CLOSED] = g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
tandem_transport_init (TandemTransport *self)
{
}

void
_tandem_transport_setup (TandemTransport *self,
                         TandemRole       role,
                         const char      *local_fingerprint,
                         const char      *remote_fingerprint,
                         const char      *remote_host)
{
  TandemTransportPrivate *priv = tandem_transport_get_instance_private (self);

  priv->role = role;
  g_free (priv->local_fingerprint);
  priv->local_fingerprint = g_strdup (local_fingerprint);
  g_free (priv->remote_fingerprint);
  priv->remote_fingerprint = g_strdup (remote_fingerprint);
  g_free (priv->remote_host);
  priv->remote_host = g_strdup (remote_host);
}

/**
 * tandem_transport_send:
 *
 * Queues one text frame; does nothing once the transport is closed.
 */
void
tandem_transport_send (TandemTransport *self,
                       const char      *text,
                       gsize            len)
{
  TandemTransportPrivate *priv = tandem_transport_get_instance_private (self);

  g_return_if_fail (TANDEM_IS_TRANSPORT (self));

  if (priv->closed)
    return;
  TANDEM_TRANSPORT_GET_CLASS (self)->send (self, text, len);
}

/**
 * tandem_transport_close:
 * @reason: why, for the log of the other side
 *
 * Closes the link; "closed" is emitted (once) when it is closed.
 */
void
tandem_transport_close (TandemTransport *self,
                        const char      *reason)
{
  TandemTransportPrivate *priv = tandem_transport_get_instance_private (self);

  g_return_if_fail (TANDEM_IS_TRANSPORT (self));

  if (priv->closed)
    return;
  TANDEM_TRANSPORT_GET_CLASS (self)->close (self, reason);
}

void
_tandem_transport_received (TandemTransport *self,
                            const char      *text,
                            gsize            len)
{
  TandemTransportPrivate *priv = tandem_transport_get_instance_private (self);

  if (priv->closed)
    return;
  g_signal_emit (self, signals[RECEIVED], 0, text, (guint64) len);
}

void
_tandem_transport_closed (TandemTransport *self,
                          const char      *reason)
{
  TandemTransportPrivate *priv = tandem_transport_get_instance_private (self);

  if (priv->closed)
    return;
  priv->closed = TRUE;
  g_signal_emit (self, signals[CLOSED], 0, reason ? reason : "closed");
}

gboolean
tandem_transport_is_open (TandemTransport *self)
{
  TandemTransportPrivate *priv = tandem_transport_get_instance_private (self);

  return !priv->closed;
}

TandemRole
tandem_transport_get_role (TandemTransport *self)
{
  TandemTransportPrivate *priv = tandem_transport_get_instance_private (self);

  return priv->role;
}

const char *
tandem_transport_get_local_fingerprint (TandemTransport *self)
{
  TandemTransportPrivate *priv = tandem_transport_get_instance_private (self);

  return priv->local_fingerprint;
}

const char *
tandem_transport_get_remote_fingerprint (TandemTransport *self)
{
  TandemTransportPrivate *priv = tandem_transport_get_instance_private (self);

  return priv->remote_fingerprint;
}

const char *
tandem_transport_get_remote_host (TandemTransport *self)
{
  TandemTransportPrivate *priv = tandem_transport_get_instance_private (self);

  return priv->remote_host;
}
