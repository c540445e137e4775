"""Every arm gets the real-only arm's optimizer steps unless the schedule says epochs."""

from eval.config import DetectorConfig
from eval.schedule import arm_schedule, control_name, steps


def test_synthetic_arm_trains_fewer_epochs_for_the_same_steps():
    detector = DetectorConfig(epochs=120, close_mosaic=30, warmup_epochs=3.0, batch=16)
    arm = arm_schedule(detector, "steps", real_images=192, train_images=288)  # ratio 0.5
    assert (arm.epochs, arm.close_mosaic, arm.warmup_epochs) == (80, 20, 2.0)
    assert steps(arm, 288) == steps(detector, 192) == 120 * 12
    assert arm.batch == detector.batch and arm.nbs == detector.nbs


def test_steps_match_exactly_when_batches_are_rounded_up():
    """The quick profile: k = 50 at batch 8 is 7 batches an epoch (the last one partial), not
    6.25; ratio 0.5 adds 25 images: 10 batches. Image counts would give 133 epochs x 10 =
    1,330 batches against real-only's 1,400; batch counts give 140 x 10 = 1,400."""
    detector = DetectorConfig(epochs=200, batch=8, close_mosaic=20, warmup_epochs=1.0)
    arm = arm_schedule(detector, "steps", real_images=50, train_images=75)
    assert arm.epochs == 140 and steps(arm, 75) == steps(detector, 50) == 1400
    assert control_name(arm) == "real-e140"


def test_real_only_and_epochs_schedule_keep_the_profile():
    detector = DetectorConfig(epochs=40)
    assert arm_schedule(detector, "steps", real_images=50, train_images=50) == detector
    assert arm_schedule(detector, "epochs", real_images=50, train_images=100) == detector


def test_at_least_one_epoch():
    arm = arm_schedule(DetectorConfig(epochs=2, batch=1), "steps", real_images=1, train_images=10)
    assert arm.epochs == 1
