"""Standard normal inverse CDF that autograd can differentiate."""
import math

import torch


def phi_inv(p):
    return math.sqrt(2.0) * torch.erfinv(2.0 * p - 1.0)


def noisy_copies(x, sigma, m):
    """m Gaussian copies of each input, shape [m, B, ...]; sigma is per example, shape [B]."""
    noise = torch.randn((m,) + tuple(x.shape), device=x.device)
    scale = sigma.view((1, -1) + (1,) * (x.dim() - 1))
    return x.unsqueeze(0) + noise * scale, noise


def forward_copies(model, copies):
    """Run the model on [m, B, ...] copies; logits [m, B, K]."""
    m, batch = copies.shape[0], copies.shape[1]
    logits = model(copies.reshape((m * batch,) + tuple(copies.shape[2:])))
    return logits.view(m, batch, -1)
