/* tandem-search-provider.h: notes in GNOME Shell's search
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "tandem-store.h"

G_BEGIN_DECLS

#define TANDEM_TYPE_SEARCH_PROVIDER (tandem_search_provider_get_type ())

G_DECLARE_FINAL_TYPE (TandemSearchProvider, tandem_search_provider, TANDEM, SEARCH_PROVIDER, GObject)

TandemSearchProvider *tandem_search_provider_new        (TandemStore          *store);
gboolean              tandem_search_provider_register   (TandemSearchProvider *self,
                                                         GDBusConnection      *connection,
                                                         const char           *path,
                                                         GError              **error);
void                  tandem_search_provider_unregister (TandemSearchProvider *self);
GStrv                 tandem_search_provider_search     (TandemSearchProvider *self,
                                                         const char * const   *terms,
                                                         const char * const   *within);

G_END_DECLS
