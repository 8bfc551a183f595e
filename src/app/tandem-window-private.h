/* tandem-window-private.h: what the window's files share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "tandem-window.h"

G_BEGIN_DECLS

struct _TandemWindow
{
  AdwApplicationWindow parent_instance;

  /* template */
  AdwLeaflet *leaflet;
  GtkDropDown *notebook_dropdown;
  GtkListBox *peers_list;
  GtkLabel *network_label;
  GtkSearchEntry *search_entry;
  GtkToggleButton *trash_button;
  GtkRevealer *status_revealer;
  GtkLabel *status_label;
  GtkStack *list_stack;
  GtkListView *notes_view;
  AdwStatusPage *empty_page;
  AdwWindowTitle *window_title;
  GtkStack *content_stack;
  TandemNoteEditor *editor;

  /* the note list: every note of the view (trash or not, matching the
   * search) in notes, sorted by notes_sorter, selected in notes_selection */
  GListStore *notes;
  GtkSorter *notes_sorter;
  GtkSingleSelection *notes_selection;

  TandemPeer *peer;
  TandemStore *store;
  char *name;
  GPtrArray *notebook_ids;      /* in the dropdown's order */
  char *notebook_id;            /* shown */
  gboolean reloading_notebooks;
  gboolean showing_trash;
  char *search;
  char *network_notice;
  char **peer_rows;             /* what the peers popover shows: name, detail, state, ... */
  guint refresh_id;
  gboolean list_stale;          /* the next refresh reads every note */
  GHashTable *stale_notes;      /* or only these (ids) */
  guint presence_id;
  guint idle_id;
  guint status_id;
  guint peer_changed_id;
  gboolean idle;
};

void _tandem_window_class_init_actions (GtkWidgetClass *widget_class);
void _tandem_window_update_actions     (TandemWindow   *self);
void _tandem_window_refresh_notes      (TandemWindow   *self);
void _tandem_window_queue_refresh      (TandemWindow   *self);
void _tandem_window_reload_notebooks   (TandemWindow   *self);
void _tandem_window_select_notebook    (TandemWindow   *self,
                                        const char     *notebook_id);
void _tandem_window_open_note          (TandemWindow   *self,
                                        const char     *note_id);
void _tandem_window_select_row         (TandemWindow   *self,
                                        const char     *note_id);
void _tandem_window_show_status        (TandemWindow   *self,
                                        const char     *message);
void _tandem_window_update_peers       (TandemWindow   *self);
void _tandem_window_show_remote_cursors (TandemWindow  *self);
void _tandem_window_resolve_conflict   (TandemWindow   *self,
                                        const char     *field);

G_END_DECLS
