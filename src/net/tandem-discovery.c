/* tandem-discovery.c: finding other Tandem peers on the local network
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every peer publishes a DNS-SD service of type _tandem._tcp (its port and
 * a few TXT entries) and browses for everybody else's, through the
 * system's Avahi daemon over D-Bus, driven by the default main context.
 *
 * Avahi is optional. When no daemon can be reached at start, start() says
 * so and the object does nothing more. When the daemon goes away later
 * (restarted, upgraded, crashed), the peers found so far are reported
 * lost, a new client is made with AVAHI_CLIENT_NO_FAIL (which waits for
 * the daemon to come back) and the service is published again once it
 * runs. Only a missing system bus makes that fail, and then it is tried
 * again every few seconds.
 *
 * What the network says is untrusted: anyone on the link can publish
 * anything under any name. A service is reported only once resolved to a
 * non-zero port; TXT entries that are empty, longer than a DNS string can
 * be (255 bytes) or not UTF-8 are dropped, and no more than MAX_SERVICES
 * names are followed at a time. Whoever is found must still be
 * authenticated by the caller before it is trusted with anything.
 *
 * A service is announced once per interface and IP protocol. Each of
 * these instances is resolved on its own, asking for an address of the
 * instance's own family, and the service is reported with the best one:
 * IPv4, then global IPv6, then link-local IPv6 (with its %interface
 * scope, without which it means nothing). An IPv6 result waits a moment
 * for an IPv4 instance still resolving on the same interface, so that a
 * dual-stack peer is reported once, by its IPv4 address. "service-found"
 * comes again only when the address, port or TXT reported changes, and
 * "service-lost" when the service's last instance is gone.
 *
 * Lifetimes. A signal handler may stop discovery, or drop the last
 * reference to it, while Avahi is in the middle of calling us. Browsers,
 * resolvers and entry groups may be freed from inside Avahi's callbacks,
 * but the client that is dispatching may not: it is then freed from an
 * idle callback instead. Its state callback reaches us through a
 * ClientLink, which is cut at that moment so that nothing the old client
 * says afterwards gets through.
 */
#include "tandem-discovery.h"

#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-client/publish.h>
#include <avahi-common/alternative.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-glib/glib-watch.h>
#include <gio/gio.h>
#include <net/if.h>
#include <string.h>

/* A service name is one DNS label: at most 63 bytes. */
#define SERVICE_NAME_MAX 63
/* A TXT entry is a DNS character-string: a length byte, then the bytes. */
#define TXT_ENTRY_MAX 255
/* How long a resolved IPv6 address waits for IPv4 on the same interface */
#define IPV4_GRACE_MS 1000
/* Resolving again after a failure: the first delay, doubled up to the last */
#define RESOLVE_RETRY_FIRST_S 2
#define RESOLVE_RETRY_MAX_S 64
/* Trying again when not even the system bus can be reached */
#define RECONNECT_RETRY_S 5
/* Names tried when ours collides with another service on this machine */
#define MAX_LOCAL_RENAMES 32
/* Service names followed at once: a link is not that crowded, unless
 * somebody floods it to make every peer resolve for ever */
#define MAX_SERVICES 256

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AvahiStringList, avahi_string_list_free)

typedef struct _Service Service;

/* A service as announced on one interface and protocol. */
typedef struct
{
  Service              *service;        /* owns this */
  AvahiIfIndex          interface;
  AvahiProtocol         protocol;
  char                 *domain;
  AvahiServiceResolver *resolver;
  guint                 retry_id;
  guint                 retry_delay_s;

  /* the last resolution, when there is one */
  gboolean              resolved;
  char                 *target;         /* the SRV record's host name */
  int                   rank;           /* 0 IPv4, 1 IPv6, 2 link-local IPv6 */
  char                 *host;
  guint16               port;
  GStrv                 txt;
} Instance;

/* A service name and everything announced under it. */
struct _Service
{
  TandemDiscovery *self;                /* owns this */
  char            *name;
  GPtrArray       *instances;           /* of Instance, owned */
  Instance        *chosen;              /* the one last reported, if still here */
  guint            grace_id;
  gboolean         grace_over;

  /* what "service-found" last said, if it said anything */
  gboolean         reported;
  char            *reported_host;
  guint16          reported_port;
  GStrv            reported_txt;
};

/* The user data of a client's state callback; see "Lifetimes" above. */
typedef struct
{
  TandemDiscovery *self;                /* NULL once the client is let go */
  AvahiClient     *client;
  AvahiGLibPoll   *poll;
} ClientLink;

struct _TandemDiscovery
{
  GObject              parent_instance;

  gboolean             running;
  ClientLink          *link;            /* NULL while waiting to reconnect */
  AvahiServiceBrowser *browser;
  AvahiEntryGroup     *group;
  guint                reconnect_id;
  gboolean             said_gone;       /* the daemon's going away was told */

  char                *service_name;    /* ours, after any renames */
  guint16              port;
  GStrv                txt;

  GHashTable          *services;        /* name -> Service, owned */
};

G_DEFINE_FINAL_TYPE (TandemDiscovery, tandem_discovery, G_TYPE_OBJECT)

enum {
  SERVICE_FOUND,
  SERVICE_LOST,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Non-zero while Avahi is calling one of our callbacks. Discovery runs on
 * the thread of the default main context only, so a counter will do; it
 * is not in the object because the object may be gone when it goes down. */
static guint avahi_depth;

static void service_update (Service *s);
static void publish        (TandemDiscovery *self,
                            AvahiClient     *client);

/* ---- small helpers -------------------------------------------------------- */

static gboolean
txt_is_valid (const char * const *txt)
{
  for (; txt != NULL && *txt != NULL; txt++)
    {
      gsize len = strlen (*txt);

      if (len == 0 || len > TXT_ENTRY_MAX || !g_utf8_validate (*txt, len, NULL))
        return FALSE;
    }
  return TRUE;
}

static GStrv
txt_copy (const char * const *txt)
{
  return txt != NULL ? g_strdupv ((char **) txt) : g_new0 (char *, 1);
}

static AvahiStringList *
txt_to_avahi (const char * const *txt)
{
  AvahiStringList *list = NULL;

  /* Avahi's lists grow at the front, and a browser's list arrives the
   * other way round: adding in order here, reading in order there, keeps
   * the caller's order (run-discovery-sandbox.py checks it). */
  for (; txt != NULL && *txt != NULL; txt++)
    list = avahi_string_list_add (list, *txt);
  return list;
}

/* Returns: (transfer full): the entries worth passing on, in the order the
 * publisher gave them */
static GStrv
txt_from_avahi (AvahiStringList *list)
{
  g_autoptr(GPtrArray) entries = g_ptr_array_new ();

  for (AvahiStringList *l = list; l != NULL; l = avahi_string_list_get_next (l))
    {
      const char *text = (const char *) avahi_string_list_get_text (l);
      gsize len = avahi_string_list_get_size (l);

      /* g_utf8_validate() with a length also refuses embedded NULs */
      if (len == 0 || len > TXT_ENTRY_MAX || !g_utf8_validate (text, len, NULL))
        {
          g_debug ("Dropped a TXT entry of %zu bytes that is not a UTF-8 string", len);
          continue;
        }
      g_ptr_array_add (entries, g_strndup (text, len));
    }
  g_ptr_array_add (entries, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&entries), FALSE);
}

/* Returns: (transfer full): @name cut to a DNS label, at a character boundary */
static char *
make_service_name (const char *name)
{
  const char *end;

  if (strlen (name) <= SERVICE_NAME_MAX)
    return g_strdup (name);
  /* back to the first byte of the character the limit cuts through */
  end = name + SERVICE_NAME_MAX;
  while (end > name && (*end & 0xc0) == 0x80)
    end--;
  return g_strndup (name, end - name);
}

/* Returns: (transfer full) (nullable): @address as text, with the scope of a
 * link-local IPv6 address */
static char *
address_to_string (const AvahiAddress *address,
                   AvahiIfIndex        interface,
                   int                *rank)
{
  char text[AVAHI_ADDRESS_STR_MAX];
  char ifname[IF_NAMESIZE];
  const guint8 *v6;

  if (address == NULL || avahi_address_snprint (text, sizeof text, address) == NULL)
    return NULL;
  if (address->proto != AVAHI_PROTO_INET6)
    {
      *rank = 0;
      return g_strdup (text);
    }
  v6 = address->data.ipv6.address;
  if (!(v6[0] == 0xfe && (v6[1] & 0xc0) == 0x80))
    {
      *rank = 1;
      return g_strdup (text);
    }
  /* fe80::/10 is on every link; only the interface says which one. Avahi's
   * interface indexes are those of its network namespace, which is ours. */
  *rank = 2;
  if (if_indextoname ((unsigned) interface, ifname) != NULL)
    return g_strdup_printf ("%s%%%s", text, ifname);
  return g_strdup_printf ("%s%%%d", text, interface);
}

/* ---- found services --------------------------------------------------------- */

static void
instance_free (Instance *inst)
{
  g_clear_handle_id (&inst->retry_id, g_source_remove);
  g_clear_pointer (&inst->resolver, avahi_service_resolver_free);
  g_free (inst->domain);
  g_free (inst->target);
  g_free (inst->host);
  g_strfreev (inst->txt);
  g_free (inst);
}

static void
service_free (Service *s)
{
  g_clear_handle_id (&s->grace_id, g_source_remove);
  g_ptr_array_unref (s->instances);
  g_free (s->name);
  g_free (s->reported_host);
  g_strfreev (s->reported_txt);
  g_free (s);
}

static void resolve_cb (AvahiServiceResolver   *resolver,
                        AvahiIfIndex            interface,
                        AvahiProtocol           protocol,
                        AvahiResolverEvent      event,
                        const char             *name,
                        const char             *type,
                        const char             *domain,
                        const char             *host_name,
                        const AvahiAddress     *address,
                        uint16_t                port,
                        AvahiStringList        *txt,
                        AvahiLookupResultFlags  flags,
                        void                   *user_data);

static gboolean instance_retry_cb (gpointer user_data);

static void
instance_retry_later (Instance *inst)
{
  if (inst->retry_delay_s == 0)
    inst->retry_delay_s = RESOLVE_RETRY_FIRST_S;
  else
    inst->retry_delay_s = MIN (inst->retry_delay_s * 2, RESOLVE_RETRY_MAX_S);
  g_clear_handle_id (&inst->retry_id, g_source_remove);
  inst->retry_id = g_timeout_add_seconds (inst->retry_delay_s, instance_retry_cb, inst);
}

static void
instance_resolve (Instance *inst)
{
  TandemDiscovery *self = inst->service->self;
  AvahiClient *client = avahi_service_browser_get_client (self->browser);

  /* The address is asked for in the instance's own family: with
   * AVAHI_PROTO_UNSPEC an IPv4 instance could as well answer with IPv6,
   * and instances could no longer be ranked. */
  inst->resolver = avahi_service_resolver_new (client, inst->interface, inst->protocol,
                                               inst->service->name, TANDEM_DISCOVERY_SERVICE_TYPE,
                                               inst->domain, inst->protocol, 0, resolve_cb, inst);
  if (inst->resolver == NULL)
    {
      g_debug ("Could not resolve %s: %s", inst->service->name,
               avahi_strerror (avahi_client_errno (client)));
      instance_retry_later (inst);
    }
}

static gboolean
instance_retry_cb (gpointer user_data)
{
  Instance *inst = user_data;

  inst->retry_id = 0;
  if (inst->resolver == NULL)
    instance_resolve (inst);
  return G_SOURCE_REMOVE;
}

static void
instance_resolved (Instance           *inst,
                   const char         *target,
                   const AvahiAddress *address,
                   guint16             port,
                   AvahiStringList    *txt)
{
  int rank = 0;
  g_autofree char *host = NULL;

  inst->retry_delay_s = 0;
  if (inst->target != NULL && g_strcmp0 (inst->target, target) != 0)
    {
      /* The name moved to another host (after a rename on a collision,
       * say). Avahi's resolver follows the new SRV record but can keep the
       * old host's address with it; a new resolver looks it all up again.
       * Until it answers, what was reported stands. */
      g_debug ("%s moved from %s to %s", inst->service->name, inst->target, target);
      g_clear_pointer (&inst->target, g_free);
      g_clear_pointer (&inst->resolver, avahi_service_resolver_free);
      inst->resolved = FALSE;
      instance_resolve (inst);
      return;
    }

  host = address_to_string (address, inst->interface, &rank);
  if (host == NULL || port == 0 || target == NULL)
    {
      g_debug ("Ignored %s, which resolved to no port or address", inst->service->name);
      inst->resolved = FALSE;
    }
  else
    {
      inst->resolved = TRUE;
      g_free (inst->target);
      inst->target = g_strdup (target);
      inst->rank = rank;
      inst->port = port;
      g_free (inst->host);
      inst->host = g_steal_pointer (&host);
      g_strfreev (inst->txt);
      inst->txt = txt_from_avahi (txt);
    }
  service_update (inst->service);
}

static void
instance_failed (Instance *inst,
                 int       err)
{
  g_debug ("Could not resolve %s on interface %d: %s",
           inst->service->name, inst->interface, avahi_strerror (err));
  /* freeing a resolver from its own callback is allowed */
  g_clear_pointer (&inst->resolver, avahi_service_resolver_free);
  inst->resolved = FALSE;
  instance_retry_later (inst);
  service_update (inst->service);
}

static void
resolve_cb (AvahiServiceResolver   *resolver,
            AvahiIfIndex            interface,
            AvahiProtocol           protocol,
            AvahiResolverEvent      event,
            const char             *name,
            const char             *type,
            const char             *domain,
            const char             *host_name,
            const AvahiAddress     *address,
            uint16_t                port,
            AvahiStringList        *txt,
            AvahiLookupResultFlags  flags,
            void                   *user_data)
{
  Instance *inst = user_data;
  TandemDiscovery *self = inst->service->self;

  avahi_depth++;
  g_object_ref (self);
  /* either may end in a signal whose handler frees @inst */
  if (event == AVAHI_RESOLVER_FOUND)
    instance_resolved (inst, host_name, address, port, txt);
  else
    instance_failed (inst, avahi_client_errno (avahi_service_resolver_get_client (resolver)));
  g_object_unref (self);
  avahi_depth--;
}

/* Whether an IPv4 instance on @interface is still being resolved. */
static gboolean
ipv4_pending (Service      *s,
              AvahiIfIndex  interface)
{
  for (guint i = 0; i < s->instances->len; i++)
    {
      Instance *inst = g_ptr_array_index (s->instances, i);

      if (inst->protocol == AVAHI_PROTO_INET && inst->interface == interface
          && !inst->resolved && inst->resolver != NULL)
        return TRUE;
    }
  return FALSE;
}

static gboolean
grace_cb (gpointer user_data)
{
  Service *s = user_data;

  s->grace_id = 0;
  s->grace_over = TRUE;
  service_update (s);
  return G_SOURCE_REMOVE;
}

/* Reports @s if its best instance says something new. May emit a signal,
 * whose handler may free @s: nothing may touch it after this returns. */
static void
service_update (Service *s)
{
  Instance *best = NULL;

  for (guint i = 0; i < s->instances->len; i++)
    {
      Instance *inst = g_ptr_array_index (s->instances, i);

      if (!inst->resolved)
        continue;
      /* among equals, the one already reported: no flapping between links */
      if (best == NULL || inst->rank < best->rank
          || (inst->rank == best->rank && inst == s->chosen))
        best = inst;
    }
  /* Nothing resolved (any more): what was said stands until the browser
   * says the service is gone. */
  if (best == NULL)
    return;

  if (best->rank > 0 && !s->grace_over && ipv4_pending (s, best->interface))
    {
      if (s->grace_id == 0)
        s->grace_id = g_timeout_add (IPV4_GRACE_MS, grace_cb, s);
      return;
    }
  s->grace_over = TRUE;
  g_clear_handle_id (&s->grace_id, g_source_remove);
  s->chosen = best;

  if (s->reported && best->port == s->reported_port
      && g_strcmp0 (best->host, s->reported_host) == 0
      && g_strv_equal ((const char * const *) best->txt, (const char * const *) s->reported_txt))
    return;
  s->reported = TRUE;
  s->reported_port = best->port;
  g_free (s->reported_host);
  s->reported_host = g_strdup (best->host);
  g_strfreev (s->reported_txt);
  s->reported_txt = g_strdupv (best->txt);
  /* the arguments are copied into the emission, so @s may go meanwhile */
  g_signal_emit (s->self, signals[SERVICE_FOUND], 0,
                 s->name, best->host, (guint) best->port, best->txt);
}

static void
instance_add (TandemDiscovery *self,
              AvahiIfIndex     interface,
              AvahiProtocol    protocol,
              const char      *name,
              const char      *domain)
{
  Service *s = g_hash_table_lookup (self->services, name);
  Instance *inst;

  if (s == NULL)
    {
      if (g_hash_table_size (self->services) >= MAX_SERVICES)
        {
          g_debug ("Ignored %s: %d services are followed already", name, MAX_SERVICES);
          return;
        }
      s = g_new0 (Service, 1);
      s->self = self;
      s->name = g_strdup (name);
      s->instances = g_ptr_array_new_with_free_func ((GDestroyNotify) instance_free);
      g_hash_table_insert (self->services, s->name, s);
    }
  for (guint i = 0; i < s->instances->len; i++)
    {
      inst = g_ptr_array_index (s->instances, i);
      if (inst->interface == interface && inst->protocol == protocol
          && g_strcmp0 (inst->domain, domain) == 0)
        return;
    }

  inst = g_new0 (Instance, 1);
  inst->service = s;
  inst->interface = interface;
  inst->protocol = protocol;
  inst->domain = g_strdup (domain);
  inst->txt = g_new0 (char *, 1);
  g_ptr_array_add (s->instances, inst);
  instance_resolve (inst);
}

static void
instance_remove (TandemDiscovery *self,
                 AvahiIfIndex     interface,
                 AvahiProtocol    protocol,
                 const char      *name,
                 const char      *domain)
{
  Service *s = g_hash_table_lookup (self->services, name);
  g_autofree char *lost = NULL;

  if (s == NULL)
    return;
  for (guint i = 0; i < s->instances->len; i++)
    {
      Instance *inst = g_ptr_array_index (s->instances, i);

      if (inst->interface == interface && inst->protocol == protocol
          && g_strcmp0 (inst->domain, domain) == 0)
        {
          if (s->chosen == inst)
            s->chosen = NULL;
          g_ptr_array_remove_index (s->instances, i);
          break;
        }
    }
  if (s->instances->len > 0)
    {
      service_update (s);
      return;
    }
  if (s->reported)
    lost = g_strdup (s->name);
  g_hash_table_remove (self->services, name);
  if (lost != NULL)
    g_signal_emit (self, signals[SERVICE_LOST], 0, lost);
}

static void
browse_cb (AvahiServiceBrowser    *browser,
           AvahiIfIndex            interface,
           AvahiProtocol           protocol,
           AvahiBrowserEvent       event,
           const char             *name,
           const char             *type,
           const char             *domain,
           AvahiLookupResultFlags  flags,
           void                   *user_data)
{
  TandemDiscovery *self = user_data;

  avahi_depth++;
  g_object_ref (self);
  switch (event)
    {
    case AVAHI_BROWSER_NEW:
      /* OUR_OWN: published through this very client. The name check
       * keeps another program's service of the same type on this machine. */
      if ((flags & AVAHI_LOOKUP_RESULT_OUR_OWN) && g_strcmp0 (name, self->service_name) == 0)
        break;
      instance_add (self, interface, protocol, name, domain);
      break;
    case AVAHI_BROWSER_REMOVE:
      instance_remove (self, interface, protocol, name, domain);
      break;
    case AVAHI_BROWSER_FAILURE:
      g_message ("Looking for peers on the local network failed: %s",
                 avahi_strerror (avahi_client_errno (avahi_service_browser_get_client (browser))));
      break;
    case AVAHI_BROWSER_CACHE_EXHAUSTED:
    case AVAHI_BROWSER_ALL_FOR_NOW:
    default:
      break;
    }
  g_object_unref (self);
  avahi_depth--;
}

/* ---- publishing ------------------------------------------------------------- */

static void
rename_service (TandemDiscovery *self)
{
  char *alternative = avahi_alternative_service_name (self->service_name);

  g_debug ("The name %s is taken on the local network; trying %s",
           self->service_name, alternative);
  g_free (self->service_name);
  self->service_name = g_strdup (alternative);
  avahi_free (alternative);
}

static void
group_cb (AvahiEntryGroup      *group,
          AvahiEntryGroupState  state,
          void                 *user_data)
{
  TandemDiscovery *self = user_data;

  /* This runs inside avahi_entry_group_new() already, before
   * self->group is set: only @group may be used here. */
  avahi_depth++;
  g_object_ref (self);
  switch (state)
    {
    case AVAHI_ENTRY_GROUP_ESTABLISHED:
      g_debug ("Published this peer on the local network as %s", self->service_name);
      break;
    case AVAHI_ENTRY_GROUP_COLLISION:
      /* another host announced the name first */
      rename_service (self);
      avahi_entry_group_reset (group);
      publish (self, avahi_entry_group_get_client (group));
      break;
    case AVAHI_ENTRY_GROUP_FAILURE:
      g_message ("Could not publish this peer on the local network: %s",
                 avahi_strerror (avahi_client_errno (avahi_entry_group_get_client (group))));
      break;
    case AVAHI_ENTRY_GROUP_UNCOMMITED:
    case AVAHI_ENTRY_GROUP_REGISTERING:
    default:
      break;
    }
  g_object_unref (self);
  avahi_depth--;
}

static void
publish (TandemDiscovery *self,
         AvahiClient     *client)
{
  g_autoptr(AvahiStringList) txt = NULL;
  int ret;

  if (self->group == NULL)
    self->group = avahi_entry_group_new (client, group_cb, self);
  if (self->group == NULL)
    {
      g_message ("Could not publish this peer on the local network: %s",
                 avahi_strerror (avahi_client_errno (client)));
      return;
    }
  /* not empty: published already, and still is */
  if (!avahi_entry_group_is_empty (self->group))
    return;

  txt = txt_to_avahi ((const char * const *) self->txt);
  for (guint i = 0;; i++)
    {
      ret = avahi_entry_group_add_service_strlst (self->group, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, 0,
                                                  self->service_name, TANDEM_DISCOVERY_SERVICE_TYPE,
                                                  NULL, NULL, self->port, txt);
      /* another program on this machine (another Tandem) has the name */
      if (ret != AVAHI_ERR_COLLISION || i == MAX_LOCAL_RENAMES)
        break;
      rename_service (self);
    }
  if (ret == AVAHI_OK)
    ret = avahi_entry_group_commit (self->group);
  if (ret != AVAHI_OK)
    {
      g_message ("Could not publish this peer on the local network as %s: %s",
                 self->service_name, avahi_strerror (ret));
      avahi_entry_group_reset (self->group);
    }
}

/* ---- the client ------------------------------------------------------------- */

static void
link_free (ClientLink *link)
{
  if (link->client != NULL)
    avahi_client_free (link->client);
  avahi_glib_poll_free (link->poll);
  g_free (link);
}

static gboolean
link_free_idle (gpointer user_data)
{
  link_free (user_data);
  return G_SOURCE_REMOVE;
}

/* Frees the client and all that hangs off it, silently: no signals. */
static void
release_client (TandemDiscovery *self)
{
  ClientLink *link = g_steal_pointer (&self->link);

  g_hash_table_remove_all (self->services);
  g_clear_pointer (&self->browser, avahi_service_browser_free);
  g_clear_pointer (&self->group, avahi_entry_group_free);
  if (link == NULL)
    return;
  link->self = NULL;
  if (avahi_depth > 0)
    g_idle_add (link_free_idle, link);
  else
    link_free (link);
}

static void client_cb (AvahiClient      *client,
                       AvahiClientState  state,
                       void             *user_data);

static gboolean
connect_client (TandemDiscovery   *self,
                AvahiClientFlags   flags,
                GError           **error)
{
  ClientLink *link = g_new0 (ClientLink, 1);
  AvahiClient *client;
  int err = AVAHI_OK;

  link->self = self;
  link->poll = avahi_glib_poll_new (NULL, G_PRIORITY_DEFAULT);
  self->link = link;
  client = avahi_client_new (avahi_glib_poll_get (link->poll), flags, client_cb, link, &err);
  if (client == NULL)
    {
      /* Avahi freed whatever its callback made on the client with it */
      self->browser = NULL;
      self->group = NULL;
      self->link = NULL;
      link->client = NULL;
      link_free (link);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                   "The Avahi daemon is not reachable: %s",
                   avahi_strerror (err));
      return FALSE;
    }
  link->client = client;
  return TRUE;
}

static gboolean
reconnect_cb (gpointer user_data)
{
  TandemDiscovery *self = user_data;
  g_autoptr(GError) error = NULL;

  self->reconnect_id = 0;
  /* NO_FAIL: the client waits in AVAHI_CLIENT_CONNECTING for the daemon
   * to come back; only a missing system bus makes this fail. */
  if (!connect_client (self, AVAHI_CLIENT_NO_FAIL, &error))
    {
      g_debug ("%s; trying again in %d s", error->message, RECONNECT_RETRY_S);
      self->reconnect_id = g_timeout_add_seconds (RECONNECT_RETRY_S, reconnect_cb, self);
    }
  return G_SOURCE_REMOVE;
}

static void
daemon_gone (TandemDiscovery *self,
             int              err)
{
  g_autoptr(GPtrArray) lost = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  Service *s;

  if (!self->said_gone)
    {
      g_message ("The Avahi daemon went away (%s); peers on the local network "
                 "will be looked for again when it is back", avahi_strerror (err));
      self->said_gone = TRUE;
    }

  g_hash_table_iter_init (&iter, self->services);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &s))
    if (s->reported)
      g_ptr_array_add (lost, g_strdup (s->name));

  release_client (self);
  g_clear_handle_id (&self->reconnect_id, g_source_remove);
  self->reconnect_id = g_idle_add (reconnect_cb, self);

  /* Nobody can tell any more whether they are still there; those that are
   * will be found again. A handler may stop discovery meanwhile. */
  for (guint i = 0; i < lost->len && self->running; i++)
    g_signal_emit (self, signals[SERVICE_LOST], 0, g_ptr_array_index (lost, i));
}

static void
client_state_changed (TandemDiscovery  *self,
                      AvahiClient      *client,
                      AvahiClientState  state)
{
  switch (state)
    {
    case AVAHI_CLIENT_S_RUNNING:
      if (self->said_gone)
        g_debug ("The Avahi daemon is back");
      self->said_gone = FALSE;
      if (self->browser == NULL)
        {
          self->browser = avahi_service_browser_new (client, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC,
                                                     TANDEM_DISCOVERY_SERVICE_TYPE, NULL, 0,
                                                     browse_cb, self);
          if (self->browser == NULL)
            g_message ("Cannot look for peers on the local network: %s",
                       avahi_strerror (avahi_client_errno (client)));
        }
      publish (self, client);
      break;

    case AVAHI_CLIENT_S_COLLISION:
    case AVAHI_CLIENT_S_REGISTERING:
      /* The daemon is (re)establishing its host name, and withdraws what
       * was published under the old one; it is published again once the
       * client runs. */
      if (self->group != NULL)
        avahi_entry_group_reset (self->group);
      break;

    case AVAHI_CLIENT_CONNECTING:
      g_debug ("Waiting for the Avahi daemon");
      break;

    case AVAHI_CLIENT_FAILURE:
      daemon_gone (self, avahi_client_errno (client));
      break;

    default:
      break;
    }
}

static void
client_cb (AvahiClient      *client,
           AvahiClientState  state,
           void             *user_data)
{
  ClientLink *link = user_data;
  TandemDiscovery *self = link->self;

  if (self == NULL)
    return;
  if (link->client == NULL)
    {
      /* Inside avahi_client_new(), which reports its own failure. Use
       * @client: avahi_client_new() has not returned it yet. */
      if (state == AVAHI_CLIENT_FAILURE)
        return;
      link->client = client;
    }

  avahi_depth++;
  g_object_ref (self);
  client_state_changed (self, client, state);
  g_object_unref (self);
  avahi_depth--;
}

/* ---- the object ------------------------------------------------------------- */

static void
tandem_discovery_dispose (GObject *object)
{
  tandem_discovery_stop (TANDEM_DISCOVERY (object));

  G_OBJECT_CLASS (tandem_discovery_parent_class)->dispose (object);
}

static void
tandem_discovery_finalize (GObject *object)
{
  TandemDiscovery *self = TANDEM_DISCOVERY (object);

  g_hash_table_unref (self->services);

  G_OBJECT_CLASS (tandem_discovery_parent_class)->finalize (object);
}

static void
tandem_discovery_class_init (TandemDiscoveryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tandem_discovery_dispose;
  object_class->finalize = tandem_discovery_finalize;

  /**
   * TandemDiscovery::service-found:
   * @service_name: the DNS-SD service name, unique on the link
   * @host: the numeric address; a link-local IPv6 one carries its scope
   *   ("fe80::1%eth0")
   * @port: the port, never 0
   * @txt: the TXT entries, each valid UTF-8 of 1 to 255 bytes
   *
   * Another peer's service was resolved, or what it resolves to changed.
   * Nothing about it is authenticated.
   */
  signals[SERVICE_FOUND] =
    g_signal_new ("service-found", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 4,
                  G_TYPE_STRING, G_TYPE_STRING, G_TYPE_UINT, G_TYPE_STRV);

  /**
   * TandemDiscovery::service-lost:
   * @service_name: as #TandemDiscovery::service-found gave it
   *
   * A service that was found is no longer announced anywhere, or the
   * Avahi daemon went away (when it is back, the services still there are
   * found again).
   */
  signals[SERVICE_LOST] =
    g_signal_new ("service-lost", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
tandem_discovery_init (TandemDiscovery *self)
{
  self->services = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) service_free);
}

/**
 * tandem_discovery_new:
 *
 * Returns: (transfer full): a discovery that does nothing until started
 */
TandemDiscovery *
tandem_discovery_new (void)
{
  return g_object_new (TANDEM_TYPE_DISCOVERY, NULL);
}

/**
 * tandem_discovery_start:
 * @instance_name: the name to publish under, UTF-8; cut to 63 bytes, and
 *   changed with Avahi's " #2", " #3"... when somebody else has it
 * @port: where this peer listens
 * @txt: (nullable): "key=value" TXT entries, each 1 to 255 bytes of UTF-8
 *
 * Publishes this peer as a _tandem._tcp service and starts looking for the
 * others, on all interfaces over IPv4 and IPv6, reporting them with
 * #TandemDiscovery::service-found and #TandemDiscovery::service-lost.
 *
 * Fails when no Avahi daemon can be reached (none installed, or no system
 * bus); the caller goes on without discovery, and the object's other
 * functions do nothing until a start succeeds. A daemon that goes away
 * later is waited for.
 *
 * Returns: %TRUE if started, %FALSE with @error set to
 *   %G_IO_ERROR_NOT_CONNECTED otherwise
 */
gboolean
tandem_discovery_start (TandemDiscovery     *self,
                        const char          *instance_name,
                        guint16              port,
                        const char * const  *txt,
                        GError             **error)
{
  g_return_val_if_fail (TANDEM_IS_DISCOVERY (self), FALSE);
  g_return_val_if_fail (instance_name != NULL && *instance_name != '\0', FALSE);
  g_return_val_if_fail (g_utf8_validate (instance_name, -1, NULL), FALSE);
  g_return_val_if_fail (port != 0, FALSE);
  g_return_val_if_fail (txt_is_valid (txt), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_return_val_if_fail (!self->running, FALSE);

  self->service_name = make_service_name (instance_name);
  self->port = port;
  self->txt = txt_copy (txt);
  self->running = TRUE;
  /* No AVAHI_CLIENT_NO_FAIL here: a daemon missing now is most likely not
   * installed at all, and the caller must hear about it. */
  if (!connect_client (self, 0, error))
    {
      self->running = FALSE;
      g_clear_pointer (&self->service_name, g_free);
      g_clear_pointer (&self->txt, g_strfreev);
      return FALSE;
    }
  return TRUE;
}

/**
 * tandem_discovery_set_txt:
 * @txt: (nullable): the new TXT entries, as for tandem_discovery_start()
 *
 * Changes what is published, in place: browsers see the service change,
 * not go and come back.
 */
void
tandem_discovery_set_txt (TandemDiscovery    *self,
                          const char * const *txt)
{
  g_autoptr(AvahiStringList) list = NULL;
  int ret;

  g_return_if_fail (TANDEM_IS_DISCOVERY (self));
  g_return_if_fail (txt_is_valid (txt));

  if (!self->running)
    return;
  g_strfreev (self->txt);
  self->txt = txt_copy (txt);
  /* not published (yet): publish() will use the new entries */
  if (self->group == NULL || avahi_entry_group_is_empty (self->group))
    return;

  list = txt_to_avahi ((const char * const *) self->txt);
  ret = avahi_entry_group_update_service_txt_strlst (self->group, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, 0,
                                                     self->service_name, TANDEM_DISCOVERY_SERVICE_TYPE,
                                                     NULL, list);
  if (ret != AVAHI_OK)
    {
      /* e.g. in the middle of a rename: publish it all again instead */
      g_debug ("Could not update the TXT record of %s: %s", self->service_name, avahi_strerror (ret));
      avahi_entry_group_reset (self->group);
      publish (self, avahi_entry_group_get_client (self->group));
    }
}

/**
 * tandem_discovery_stop:
 *
 * Withdraws the service and stops looking, without reporting anything
 * lost. Does nothing if not started. Disposing the object stops it.
 */
void
tandem_discovery_stop (TandemDiscovery *self)
{
  g_return_if_fail (TANDEM_IS_DISCOVERY (self));

  if (!self->running)
    return;
  self->running = FALSE;
  self->said_gone = FALSE;
  g_clear_handle_id (&self->reconnect_id, g_source_remove);
  /* freeing the entry group withdraws the service, with goodbye packets */
  release_client (self);
  g_clear_pointer (&self->service_name, g_free);
  g_clear_pointer (&self->txt, g_strfreev);
}

/**
 * tandem_discovery_is_running:
 *
 * Returns: whether started and not stopped; stays %TRUE while a daemon that
 *   went away is waited for
 */
gboolean
tandem_discovery_is_running (TandemDiscovery *self)
{
  g_return_val_if_fail (TANDEM_IS_DISCOVERY (self), FALSE);

  return self->running;
}

/**
 * tandem_discovery_get_service_name:
 *
 * Returns: (nullable): the name this peer is published under, which may
 *   differ from the instance name after a collision; %NULL when stopped
 */
const char *
tandem_discovery_get_service_name (TandemDiscovery *self)
{
  g_return_val_if_fail (TANDEM_IS_DISCOVERY (self), NULL);

  return self->service_name;
}
