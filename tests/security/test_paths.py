"""Files are reached only inside their folders: nsfile:// paths cannot leave the namespace's files."""

from __future__ import annotations

import pytest

from nb_orchestra import internal_storage


@pytest.mark.parametrize("relative", ["/../secret.txt", "a/../../secret.txt", "..\\secret.txt", "%2e%2e/secret.txt"])
def test_nsfile_paths_that_leave_the_namespace_are_refused(relative):
    with pytest.raises(ValueError, match="leaves the namespace files of company"):
        internal_storage.namespace_file("company", relative)


def test_nsfile_paths_inside_resolve_below_the_namespace(isolated_home):
    root = internal_storage.namespace_files_dir("company")
    assert internal_storage.namespace_file("company", "/sql/q.sql") == root / "sql" / "q.sql"
    assert internal_storage.namespace_file("company", "//etc/passwd") == root / "etc" / "passwd"
