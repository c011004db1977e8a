"""Row ids are version-7 UUIDs: unique, and ordered by the time they were made."""
import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from sync.ids import IdMaker


@pytest.fixture
def new_id():
    """A fresh id maker's new_id: no earlier id of this process orders these."""
    return IdMaker().new_id


def test_new_id_is_a_version_7_uuid_carrying_its_time(new_id):
    row_id = new_id(1_580_774_400_000)  # 2020-02-04 00:00 UTC
    u = uuid.UUID(row_id)
    assert str(u) == row_id
    assert u.version == 7 and u.variant == uuid.RFC_4122
    assert u.int >> 80 == 1_580_774_400_000


def test_ids_made_later_sort_after_earlier_ones_as_text(new_id):
    ids = [new_id(1_580_774_400_000 + ms) for ms in range(0, 5000, 7)]
    assert ids == sorted(ids)  # as stored in a text column: the unique index grows at its end


def test_ids_made_in_the_same_millisecond_differ_and_keep_their_order(new_id):
    ids = [new_id(1_580_774_400_000) for _ in range(10_000)]
    assert len(set(ids)) == 10_000 and ids == sorted(ids)


def test_ids_never_go_backwards_when_the_clock_does(new_id):
    before = new_id(1_580_774_500_000)
    after = new_id(1_580_774_400_000)  # the laptop's clock was set back
    assert after > before


def test_ids_made_at_once_in_several_threads_are_all_different(new_id):
    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(lambda _: new_id(), range(20_000)))
    assert len(set(ids)) == 20_000


@pytest.mark.parametrize("ms", [-1, 1 << 48])
def test_a_time_a_uuid_cannot_hold_is_refused(new_id, ms):
    with pytest.raises(ValueError, match="outside"):
        new_id(ms)



@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this system")
def test_forked_processes_making_ids_in_one_millisecond_never_make_the_same():
    from sync import ids
    ms = 1_580_774_400_000
    ids.new_id(ms)  # the parent made one before forking its workers
    made = []
    for _ in range(2):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # a worker: one id in the same millisecond, sent back
            os.write(w, ids.new_id(ms).encode())
            os._exit(0)
        os.close(w)
        os.waitpid(pid, 0)
        made.append(os.read(r, 100).decode())
        os.close(r)
    assert len(set(made)) == 2, made
