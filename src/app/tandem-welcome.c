/* tandem-welcome.c: the note a new profile starts with
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A profile without a single note (in any notebook, the trash included)
 * is new: an empty window says little about a notes app whose point is
 * writing together, so the first start leaves one short note in the
 * Personal notebook on how to share, join and write together. It is an
 * ordinary note, to change or throw away.
 */
#include "tandem-welcome.h"

#include <glib/gi18n.h>

static gboolean
has_notes (TandemStore *store)
{
  g_autoptr(GPtrArray) notebooks = tandem_store_list_notebooks (store, NULL);

  /* when the store cannot say, do not add to it */
  if (notebooks == NULL)
    return TRUE;
  for (guint i = 0; i < notebooks->len; i++)
    {
      TandemStoreNotebook *notebook = g_ptr_array_index (notebooks, i);
      g_autoptr(GPtrArray) notes = tandem_store_list_notes (store, notebook->id, NULL);

      if (notes == NULL || notes->len > 0)
        return TRUE;
    }
  return FALSE;
}

/**
 * tandem_welcome_add_note:
 *
 * Adds the welcome note when the profile has no note at all.
 *
 * Returns: (transfer full) (nullable): the id of the note added, or %NULL
 *   when none was (with @error set if adding it failed)
 */
char *
tandem_welcome_add_note (TandemPeer  *peer,
                         GError     **error)
{
  TandemStore *store = tandem_peer_get_store (peer);
  TandemSavedNote *saved;
  TandemNote *note;
  g_autoptr(TandemEvent) title = NULL;
  g_autoptr(TandemEvent) text = NULL;
  /* Markdown, as the editor shows it */
  const char *body =
    _("Tandem keeps your notes on this computer and shares the notebooks you choose "
      "with the people you write with, straight over your network, with no server in between.\n"
      "\n"
      "## Share a notebook\n"
      "\n"
      "1. Make a shared notebook with **New Notebook…** in the main menu (Ctrl+Shift+N).\n"
      "2. Choose **Share Notebook…** and give the invite code to the people you want to write with.\n"
      "\n"
      "## Join a notebook\n"
      "\n"
      "Choose **Join Notebook…** (Ctrl+J) and paste the invite code a member gave you. "
      "Its notes appear as soon as a member is reached.\n"
      "\n"
      "## Write together\n"
      "\n"
      "Edits sync live: you see the others’ carets as they type, and what you write reaches them as you "
      "write it. Offline is fine too: changes meet again the next time you are connected.\n"
      "\n"
      "Notes in *Personal*, like this one, stay on this computer. "
      "Press Ctrl+? to see every keyboard shortcut.\n");

  if (has_notes (store))
    return NULL;
  saved = tandem_peer_create_note (peer, tandem_store_get_private_notebook_id (store), error);
  if (saved == NULL)
    return NULL;
  note = tandem_saved_note_get_note (saved);
  title = tandem_note_set_field (note, "title", g_variant_new_string (_("Welcome to Tandem")), error);
  if (title == NULL)
    return NULL;
  text = tandem_note_insert (note, 0, body, error);
  if (text == NULL || !tandem_peer_commit (peer, saved, error))
    return NULL;
  return g_strdup (tandem_saved_note_get_id (saved));
}
