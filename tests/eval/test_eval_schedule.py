"""Every arm gets the real-only arm's optimizer steps unless the schedule says epochs."""

from eval.config import DetectorConfig
from eval.schedule import arm_schedule


def test_synthetic_arm_trains_fewer_epochs_for_the_same_steps():
    detector = DetectorConfig(epochs=120, close_mosaic=30, warmup_epochs=3.0)
    arm = arm_schedule(detector, "steps", real_images=200, train_images=300)  # ratio 0.5
    assert (arm.epochs, arm.close_mosaic, arm.warmup_epochs) == (80, 20, 2.0)
    assert arm.epochs * 300 == detector.epochs * 200  # same images seen, so same steps
    assert arm.batch == detector.batch and arm.nbs == detector.nbs


def test_real_only_and_epochs_schedule_keep_the_profile():
    detector = DetectorConfig(epochs=40)
    assert arm_schedule(detector, "steps", real_images=50, train_images=50) == detector
    assert arm_schedule(detector, "epochs", real_images=50, train_images=100) == detector


def test_at_least_one_epoch():
    arm = arm_schedule(DetectorConfig(epochs=2), "steps", real_images=1, train_images=10)
    assert arm.epochs == 1
