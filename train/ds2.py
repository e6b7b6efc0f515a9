"""Data-dependent sigma (Alfarra et al. 2022).

Algorithm 1: for each input, K steps of gradient ascent (step alpha) on
    R(sigma) = sigma/2 * (PhiInv(E f_cA(x + sigma e)) - PhiInv(max_{c != cA} E f_c(x + sigma e)))
with softmax probabilities clamped to [0.02, 0.98], expectations over n fixed standard-normal
draws e (reparameterisation), started at the example's previous sigma.
Algorithm 2: training keeps one sigma per training example, carried across epochs
(initially sigma0), and trains on noise at that sigma.
"""
import torch
import torch.nn.functional as F

from gaussian import forward_copies, phi_inv

PROBABILITY_CLAMP = (0.02, 0.98)


def certified_radius_surrogate(model, x, draws, sigma, top_class):
    probs = F.softmax(forward_copies(model, x.unsqueeze(0) + draws * sigma.view(1, -1, 1, 1, 1)), dim=-1).mean(0)
    pA = probs.gather(1, top_class.view(-1, 1)).squeeze(1)
    others = probs.scatter(1, top_class.view(-1, 1), float('-inf'))
    pB = others.max(dim=1).values
    low, high = PROBABILITY_CLAMP
    return sigma / 2.0 * (phi_inv(pA.clamp(low, high)) - phi_inv(pB.clamp(low, high)))


def optimize_sigma(model, x, sigma_start, K, n, alpha, sigmaMin, sigmaMax):
    """Algorithm 1 on a batch; returns the new per-example sigma [B] (no graph)."""
    draws = torch.randn((n,) + tuple(x.shape), device=x.device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    for p in trainable:
        p.requires_grad_(False)
    try:
        with torch.no_grad():
            start = x.unsqueeze(0) + draws * sigma_start.view(1, -1, 1, 1, 1)
            top_class = F.softmax(forward_copies(model, start), dim=-1).mean(0).argmax(dim=1)
        sigma = sigma_start.detach().clone()
        for _ in range(K):
            sigma.requires_grad_(True)
            radius = certified_radius_surrogate(model, x, draws, sigma, top_class)
            (grad,) = torch.autograd.grad(radius.sum(), sigma)
            sigma = (sigma.detach() + alpha * grad).clamp(sigmaMin, sigmaMax)
    finally:
        for p in trainable:
            p.requires_grad_(True)
    return sigma.detach()
