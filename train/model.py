"""The base classifier: a small CNN whose input is pixels in [0, 1] (normalisation inside).

About 0.6 M multiply-adds per 28x28 image, because the gateway evaluates it up to 10^5 times
per request on CPU.
"""
import torch
from torch import nn


class Normalize(nn.Module):
    """(x - mean) / std as part of the graph, so the exported model takes raw pixels."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer('mean', torch.tensor([mean], dtype=torch.float32).view(1, 1, 1, 1))
        self.register_buffer('std', torch.tensor([std], dtype=torch.float32).view(1, 1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


class SmallCnn(nn.Module):
    def __init__(self, mean, std, num_classes=10):
        super().__init__()
        self.normalize = Normalize(mean, std)
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2),   # 28 -> 24 -> 12
            nn.Conv2d(16, 32, 5), nn.ReLU(), nn.MaxPool2d(2),  # 12 -> 8 -> 4
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 4 * 4, 128), nn.ReLU(), nn.Linear(128, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(self.normalize(x)))


def multiply_adds_per_image(model):
    """Multiply-adds of one forward pass (convolutions and linear layers), for the docs."""
    total = 0
    x = torch.zeros(1, 1, 28, 28)
    x = model.normalize(x)
    for layer in list(model.features) + list(model.classifier):
        y = layer(x)
        if isinstance(layer, nn.Conv2d):
            total += y.numel() * layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1]
        elif isinstance(layer, nn.Linear):
            total += layer.in_features * layer.out_features
        x = y
    return total
