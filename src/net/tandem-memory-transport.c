/* tandem-memory-transport.c: two connected transports in one process
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * For tests of the protocol without sockets. Frames are delivered from an
 * idle callback, in order, as a real socket would deliver them later than
 * they were sent; closing one end closes the other the same way. The
 * fingerprints are whatever the test says each side saw, so a man in the
 * middle is simply a pair whose two ends saw different ones.
 */
#include "tandem-memory-transport.h"

struct _TandemMemoryTransport
{
  TandemTransport parent_instance;

  TandemMemoryTransport *other;   /* weak: each end clears the other's */
  GQueue inbox;                   /* of GString, frames not yet delivered */
  char *close_reason;             /* set when the other side closed */
  guint deliver_id;
};

G_DEFINE_FINAL_TYPE (TandemMemoryTransport, tandem_memory_transport, TANDEM_TYPE_TRANSPORT)

static gboolean
deliver (gpointer data)
{
  TandemMemoryTransport *self = data;
  g_autoptr(TandemTransport) keep G_GNUC_UNUSED = g_object_ref (TANDEM_TRANSPORT (self));
  GString *frame;

  self->deliver_id = 0;
  while ((frame = g_queue_pop_head (&self->inbox)) != NULL)
    {
      _tandem_transport_received (TANDEM_TRANSPORT (self), frame->str, frame->len);
      g_string_free (frame, TRUE);
    }
  if (self->close_reason != NULL)
    _tandem_transport_closed (TANDEM_TRANSPORT (self), self->close_reason);
  return G_SOURCE_REMOVE;
}

static void
schedule (TandemMemoryTransport *self)
{
  if (self->deliver_id == 0)
    self->deliver_id = g_idle_add (deliver, self);
}

static void
tandem_memory_transport_send (TandemTransport *transport,
                              const char      *text,
                              gsize            len)
{
  TandemMemoryTransport *self = TANDEM_MEMORY_TRANSPORT (transport);

  if (self->other == NULL || self->other->close_reason != NULL)
    return;
  g_queue_push_tail (&self->other->inbox, g_string_new_len (text, len));
  schedule (self->other);
}

static void
tandem_memory_transport_close (TandemTransport *transport,
                               const char      *reason)
{
  TandemMemoryTransport *self = TANDEM_MEMORY_TRANSPORT (transport);

  if (self->other != NULL && self->other->close_reason == NULL)
    {
      self->other->close_reason = g_strdup (reason ? reason : "closed by the other side");
      schedule (self->other);
    }
  _tandem_transport_closed (transport, reason);
}

static void
tandem_memory_transport_dispose (GObject *object)
{
  TandemMemoryTransport *self = TANDEM_MEMORY_TRANSPORT (object);
  GString *frame;

  if (self->other != NULL)
    {
      if (self->other->close_reason == NULL)
        {
          self->other->close_reason = g_strdup ("the other side went away");
          schedule (self->other);
        }
      self->other->other = NULL;
      self->other = NULL;
    }
  g_clear_handle_id (&self->deliver_id, g_source_remove);

  while ((frame = g_queue_pop_head (&self->inbox)) != NULL)
    g_string_free (frame, TRUE);
  G_OBJECT_CLASS (tandem_memory_transport_parent_class)->dispose (object);
}

static void
tandem_memory_transport_finalize (GObject *object)
{
  g_free (TANDEM_MEMORY_TRANSPORT (object)->close_reason);
  G_OBJECT_CLASS (tandem_memory_transport_parent_class)->finalize (object);
}

static void
tandem_memory_transport_class_init (TandemMemoryTransportClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = tandem_memory_transport_dispose;
  G_OBJECT_CLASS (klass)->finalize = tandem_memory_transport_finalize;
  TANDEM_TRANSPORT_CLASS (klass)->send = tandem_memory_transport_send;
  TANDEM_TRANSPORT_CLASS (klass)->close = tandem_memory_transport_close;
}

static void
tandem_memory_transport_init (TandemMemoryTransport *self)
{
  g_queue_init (&self->inbox);
}

/**
 * tandem_memory_transport_new_pair:
 * @client_fingerprint: what the server end saw of the client
 * @server_fingerprint: what the client end saw of the server
 * @client: (out) (transfer full): the end that "connected"
 * @server: (out) (transfer full): the end that "accepted"
 */
void
tandem_memory_transport_new_pair (const char       *client_fingerprint,
                                  const char       *server_fingerprint,
                                  TandemTransport **client,
                                  TandemTransport **server)
{
  TandemMemoryTransport *c = g_object_new (TANDEM_TYPE_MEMORY_TRANSPORT, NULL);
  TandemMemoryTransport *s = g_object_new (TANDEM_TYPE_MEMORY_TRANSPORT, NULL);

  c->other = s;
  s->other = c;
  _tandem_transport_setup (TANDEM_TRANSPORT (c), TANDEM_ROLE_CLIENT, client_fingerprint,
                           server_fingerprint, "memory");
  _tandem_transport_setup (TANDEM_TRANSPORT (s), TANDEM_ROLE_SERVER, server_fingerprint,
                           client_fingerprint, "memory");
  *client = TANDEM_TRANSPORT (c);
  *server = TANDEM_TRANSPORT (s);
}
