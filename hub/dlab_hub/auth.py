"""Sign-in from the class list: first-use passwords (or generated ones), no open sign-up.

The class list is read again whenever its file changes, so a late student can sign in without a
restart. A name that is not on the list gets no password stored, so nobody can claim it early.
"""

from __future__ import annotations

import csv
import dbm
import os
import secrets

from firstuseauthenticator import FirstUseAuthenticator
from traitlets import Unicode

from . import settings as class_settings

# Generated passwords: no letters or digits that are easy to misread on a printed sheet.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
PASSWORD_LENGTH = 12


def generate_password():
    return "".join(secrets.choice(ALPHABET) for _ in range(PASSWORD_LENGTH))


class ClassListAuthenticator(FirstUseAuthenticator):
    """FirstUseAuthenticator that lets in the class list's members only, read afresh on change."""

    settings_path = Unicode(config=True, help="The class settings file (TOML) that lists who may sign in.")
    passwords_file = Unicode(config=True, help="Where generated passwords are written for the teacher (CSV).")

    _members: tuple = ()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.members()  # generated passwords exist from the start, for `dlab hub users --passwords`

    def members(self):
        """The teacher and students as the settings file says now; the last good list if it is broken."""
        try:
            current = class_settings.load(self.settings_path)
        except class_settings.SettingsError as exc:
            self.log.error("class list not re-read, keeping the last one: %s (%s)", exc.what, exc.fix)
            return self._members
        if current.members != self._members:
            added = sorted(set(current.members) - set(self._members))
            if self._members and added:
                self.log.info("class list: %d new member(s): %s", len(added), ", ".join(added))
            self._members = current.members
            if current.passwords == "generated":
                self.seed_passwords(current)
        return self._members

    def seed_passwords(self, current):
        """Give every member without a password a generated one, and note it for the teacher."""
        with dbm.open(self.dbm_path, "c", 0o600) as db:
            missing = [name for name in current.members if name.encode() not in db]
        if not missing:
            return
        new_file = not os.path.exists(self.passwords_file)
        with open(self.passwords_file, "a", newline="") as f:
            writer = csv.writer(f)
            if new_file:
                writer.writerow(["username", "password"])
            for name in missing:
                password = generate_password()
                self.reset_password(name, password)
                writer.writerow([name, password])
        os.chmod(self.passwords_file, 0o600)
        os.chown(self.passwords_file, current.uid, current.gid)
        self.log.info("generated passwords for %d member(s); `dlab hub users --passwords` shows them", len(missing))

    def check_allowed(self, username, authentication=None):
        return username in self.members() or super().check_allowed(username, authentication)

    async def authenticate(self, handler, data):
        username = self.normalize_username(data.get("username", ""))
        if not self.check_allowed(username):
            self.log.warning("sign-in refused for %r: not on the class list", username)
            return None
        return await super().authenticate(handler, data)
