from __future__ import annotations

import pytest
import torch

from supernet.configs import TrainConfig
from supernet.data import load_dataset
from supernet.distill import distillation_loss, largest_path
from supernet.model import Supernet
from supernet.space import SearchSpace
from supernet.steering import SteeringState
from supernet.train import Trainer


def test_the_loss_mixes_labels_and_teacher_as_specified() -> None:
    student = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]])
    teacher = torch.tensor([[0.0, 3.0, 0.0], [1.0, 0.0, 0.0]])
    labels = torch.tensor([0, 1])
    ce = torch.nn.functional.cross_entropy(student, labels)
    t, w = 2.0, 0.25
    p = torch.softmax(teacher / t, 1)
    kl = (p * (p.log() - torch.log_softmax(student / t, 1))).sum(1).mean() * t * t
    assert distillation_loss(student, labels, teacher, w, t) == pytest.approx(
        float((1 - w) * ce + w * kl), rel=1e-6)
    assert distillation_loss(student, labels, teacher, 0.0) == pytest.approx(float(ce))
    assert distillation_loss(student, labels, None, 0.5) == pytest.approx(float(ce))


def test_teacher_is_the_largest_allowed_path(micro_space: SearchSpace) -> None:
    net = Supernet(micro_space, 1, 10, 8)
    steering = SteeringState(micro_space)
    assert largest_path(net, steering) == ("nor_conv_3x3",) * 3
    steering.prune("2<-1", "nor_conv_3x3")
    assert largest_path(net, steering)[2] != "nor_conv_3x3"


def test_distillation_changes_training_only_when_enabled(micro_space: SearchSpace) -> None:
    data = load_dataset("digits", limit=200)

    def losses(**extra: float) -> tuple[list[float], int]:
        torch.manual_seed(0)
        net = Supernet(micro_space, data.in_channels, data.num_classes, data.image_size)
        teacher_calls = []
        net.register_forward_pre_hook(
            lambda _m, args: teacher_calls.append(1) if tuple(args[1]) == ("nor_conv_3x3",) * 3
            else None)
        trainer = Trainer(net, data, SteeringState(micro_space),
                          TrainConfig(epochs=1, batch_size=32, device="cpu", **extra))
        return trainer.train_steps(4), len(teacher_calls)

    plain, plain_teacher = losses()
    off, off_teacher = losses(distill_weight=0.0, distill_temperature=3.0)
    on, on_teacher = losses(distill_weight=0.5)
    assert plain == off and off_teacher == plain_teacher  # off means untouched
    assert on_teacher >= 4 and on != plain
