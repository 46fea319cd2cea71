"""The sender's persistent queue: order, restarts, torn writes and the disk bound."""

from __future__ import annotations

from collections import deque
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchkeeper.core.clock import FakeClock
from watchkeeper.remote.errors import RemoteWriteQueueError
from watchkeeper.remote.queue import DiskQueue


def open_queue(path: Path, max_bytes: int = 1 << 20, segment_bytes: int = 4096) -> DiskQueue:
    return DiskQueue(path, max_bytes=max_bytes, clock=FakeClock(), segment_bytes=segment_bytes)


def drain(q: DiskQueue) -> list[bytes]:
    out = []
    while (batch := q.peek()) is not None:
        out.append(batch.payload)
        q.ack(batch)
    return out


def test_batches_come_out_in_order_across_segments_and_sent_segments_are_deleted(
    tmp_path: Path,
) -> None:
    q = open_queue(tmp_path)
    payloads = [bytes([i]) * 1000 for i in range(20)]  # ~5 segments of 4 KiB
    for i, p in enumerate(payloads):
        assert q.put(p, samples=i + 1, newest_ms=i) == 0
    assert q.depth().batches == 20
    assert q.depth().samples == sum(range(1, 21))
    assert len(list(tmp_path.glob("*.seg"))) >= 5
    assert drain(q) == payloads
    assert q.depth().samples == 0
    assert len(list(tmp_path.glob("*.seg"))) == 1  # only the one still written to
    q.close()


def test_unsent_batches_survive_a_restart_and_sent_ones_do_not_come_back(
    tmp_path: Path,
) -> None:
    q = open_queue(tmp_path)
    for i in range(6):
        q.put(f"batch-{i}".encode() * 300, samples=10, newest_ms=1000 + i)
    for _ in range(2):
        batch = q.peek()
        assert batch is not None
        q.ack(batch)
    q.close()
    again = open_queue(tmp_path)
    assert again.depth().batches == 4
    assert again.depth().samples == 40
    first = again.peek()
    assert first is not None
    assert first.payload == b"batch-2" * 300
    assert first.newest_ms == 1002
    again.put(b"after-restart", samples=1)
    assert drain(again)[-1] == b"after-restart"
    again.close()


def test_a_record_cut_short_by_a_crash_is_truncated_and_the_rest_kept(tmp_path: Path) -> None:
    q = open_queue(tmp_path, segment_bytes=1 << 20)
    q.put(b"complete-1", samples=1)
    q.put(b"complete-2", samples=1)
    q.close()
    (segment,) = tmp_path.glob("*.seg")
    good_size = segment.stat().st_size
    with segment.open("ab") as f:
        f.write(b"\x40\x00\x00\x00partial")  # a header and a few bytes of a lost record
    again = open_queue(tmp_path, segment_bytes=1 << 20)
    assert segment.stat().st_size == good_size
    assert drain(again) == [b"complete-1", b"complete-2"]
    again.close()


def test_a_record_with_a_bad_checksum_ends_the_last_segment(tmp_path: Path) -> None:
    q = open_queue(tmp_path, segment_bytes=1 << 20)
    q.put(b"good", samples=1)
    q.put(b"flipped!", samples=1)
    q.close()
    (segment,) = tmp_path.glob("*.seg")
    data = bytearray(segment.read_bytes())
    data[-1] ^= 0xFF
    segment.write_bytes(bytes(data))
    again = open_queue(tmp_path, segment_bytes=1 << 20)
    assert drain(again) == [b"good"]
    again.close()


def test_a_full_queue_drops_the_oldest_batches_and_reports_their_samples(
    tmp_path: Path,
) -> None:
    q = open_queue(tmp_path, max_bytes=16 * 1024, segment_bytes=4096)
    dropped = 0
    for i in range(40):
        dropped += q.put(bytes([i % 256]) * 1000, samples=7)
    depth = q.depth()
    assert depth.bytes <= 16 * 1024
    assert dropped > 0
    assert dropped + depth.samples == 40 * 7
    kept = drain(q)
    assert kept[-1] == bytes([39]) * 1000  # the newest survive
    assert [p[0] for p in kept] == sorted(p[0] for p in kept)
    q.close()


def test_a_batch_larger_than_the_whole_queue_is_dropped_alone(tmp_path: Path) -> None:
    q = open_queue(tmp_path, max_bytes=8192)
    q.put(b"small", samples=1)
    assert q.put(b"x" * 10_000, samples=5) == 5
    assert drain(q) == [b"small"]
    q.close()


def test_acking_a_batch_dropped_to_make_room_changes_nothing(tmp_path: Path) -> None:
    q = open_queue(tmp_path, max_bytes=8192, segment_bytes=4096)
    q.put(b"a" * 1500, samples=1)
    old = q.peek()
    assert old is not None
    for _ in range(10):
        q.put(b"b" * 1500, samples=1)
    q.ack(old)  # already gone: the head is another batch now
    head = q.peek()
    assert head is not None
    assert head.payload == b"b" * 1500
    assert q.depth().batches == q.depth().samples
    q.close()


def test_a_closed_queue_refuses_work(tmp_path: Path) -> None:
    q = open_queue(tmp_path)
    q.close()
    with pytest.raises(RemoteWriteQueueError, match="closed"):
        q.put(b"x", samples=1)


def test_an_unusable_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(RemoteWriteQueueError, match="cannot use the remote-write queue"):
        open_queue(blocker / "queue")


ops = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.integers(min_value=1, max_value=3000)),
        st.tuples(st.just("ack"), st.just(0)),
        st.tuples(st.just("reopen"), st.just(0)),
    ),
    max_size=40,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops)
def test_the_queue_behaves_as_a_fifo_across_any_sequence_of_puts_acks_and_restarts(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, int]]
) -> None:
    path = tmp_path_factory.mktemp("q")
    model: deque[bytes] = deque()
    q = open_queue(path, segment_bytes=4096)
    for n, (op, size) in enumerate(steps):
        if op == "put":
            payload = n.to_bytes(4, "little") * (size // 4 + 1)
            q.put(payload, samples=1)
            model.append(payload)
        elif op == "ack":
            batch = q.peek()
            assert (batch.payload if batch else None) == (model[0] if model else None)
            if batch is not None:
                q.ack(batch)
                model.popleft()
        else:
            q.close()
            q = open_queue(path, segment_bytes=4096)
        assert q.depth().batches == len(model)
    assert drain(q) == list(model)
    q.close()
