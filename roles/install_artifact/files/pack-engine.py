#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Pack every *.py of a directory tree into a tar archive that depends only on the files' paths and contents
(sorted names, time 0, owner root, modes 0644/0755), so the same tree always gives the same bytes and the role's
copy of it is idempotent. Runs on the controller: pack-engine.py SOURCE_DIR ARCHIVE"""
import io
import os
import sys
import tarfile


def pack(source, archive):
    names = []
    for root, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        names += [os.path.join(root, f) for f in files if f.endswith(".py")]
    with tarfile.open(archive, "w", format=tarfile.GNU_FORMAT) as tar:
        for path in sorted(names, key=lambda p: os.path.relpath(p, source)):
            rel = os.path.relpath(path, source)
            with open(path, "rb") as f:
                data = f.read()
            info = tarfile.TarInfo(rel)
            info.size, info.mode, info.mtime, info.uid, info.gid = len(data), 0o644, 0, 0, 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
    return len(names)


if __name__ == "__main__":
    print(pack(sys.argv[1], sys.argv[2]))
