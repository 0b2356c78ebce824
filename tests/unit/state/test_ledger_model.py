from services.contract.envelope import coord
from services.state.ledger import PartitionProgress, Pending, mark


def test_progress_roundtrips_through_json():
    pp = PartitionProgress(12, Pending(12, 40, {mark("out", 1): 7}))
    again = PartitionProgress.from_json(pp.to_json())
    assert again == pp and again.pending.covers(12) and again.pending.covers(40)
    assert not again.pending.covers(41)
    assert PartitionProgress.from_json(None) == PartitionProgress(0, None)


def test_coordinates():
    assert coord("chat.events", 3, 99) == "chat.events/3/99"
    assert mark("a.b", 2) == "a.b:2"
