"""Training losses. Each takes a per-example sigma [B] so that the same code serves the
fixed-sigma methods and their data-dependent (DS2) forms."""
import torch
import torch.nn.functional as F

from gaussian import forward_copies, noisy_copies, phi_inv


def cohen_loss(model, x, y, sigma, params, epoch):
    """Gaussian data augmentation (Cohen et al. 2019)."""
    copies, _ = noisy_copies(x, sigma, 1)
    return F.cross_entropy(forward_copies(model, copies)[0], y)


def _soft_smoothed_nll(logits, y):
    """-log of the smoothed soft classifier's probability of y; logits [m, B, K]."""
    mean_probs = F.softmax(logits, dim=-1).mean(0)
    return F.nll_loss(torch.log(mean_probs + 1e-10), y)


def smoothadv_loss(model, x, y, sigma, params, epoch):
    """SmoothAdv (Salman et al. 2019): l2 PGD against the soft smoothed classifier estimated
    with m noise samples, then Gaussian augmentation of the adversarial input with the same
    m noise samples. epsilon ramps up linearly over warmupEpochs, as in the paper."""
    m, steps = params['m'], params['numSteps']
    warmup = max(1, params['warmupEpochs'])
    epsilon = params['epsilon'] * min(1.0, (epoch + 1) / warmup)
    step_size = 2.0 * epsilon / steps
    flat = lambda t: t.view(t.shape[0], -1)
    view_b = (-1,) + (1,) * (x.dim() - 1)

    noise = torch.randn((m,) + tuple(x.shape), device=x.device) * sigma.view((1,) + view_b)
    delta = torch.zeros_like(x)
    trainable = [p for p in model.parameters() if p.requires_grad]
    for p in trainable:
        p.requires_grad_(False)
    try:
        for _ in range(steps):
            delta.requires_grad_(True)
            loss = _soft_smoothed_nll(forward_copies(model, (x + delta).unsqueeze(0) + noise), y)
            (grad,) = torch.autograd.grad(loss, delta)
            grad_norm = flat(grad).norm(dim=1).clamp_min(1e-12).view(view_b)
            delta = delta.detach() + step_size * grad / grad_norm
            delta = (x + delta).clamp(0.0, 1.0) - x  # stay in the data domain
            norm = flat(delta).norm(dim=1).view(view_b)
            delta = delta * torch.clamp(epsilon / norm.clamp_min(1e-12), max=1.0)  # project on the l2 ball
    finally:
        for p in trainable:
            p.requires_grad_(True)
    x_adv = (x + delta).detach()
    logits = forward_copies(model, x_adv.unsqueeze(0) + noise)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.repeat(m))


def macer_loss(model, x, y, sigma, params, epoch):
    """MACER (Zhai et al. 2020): cross-entropy of the soft smoothed classifier plus lambda
    times a hinge (margin gamma) on the certified radius sigma/2 (PhiInv(pA) - PhiInv(pB)),
    computed from beta-sharpened softmax over m noise samples, on correctly classified
    examples whose radius term lies within gamma."""
    m, lam, gamma, beta = params['m'], params['lambda'], params['gamma'], params['beta']
    copies, _ = noisy_copies(x, sigma, m)
    logits = forward_copies(model, copies)
    classification = _soft_smoothed_nll(logits, y)

    sharp = F.softmax(beta * logits, dim=-1).mean(0)
    top2, top2_index = sharp.topk(2, dim=-1)
    with torch.no_grad():
        gap = phi_inv(top2[:, 0]) - phi_inv(top2[:, 1])
        keep = (top2_index[:, 0] == y) & torch.isfinite(gap) & (gap <= gamma)
    # select before PhiInv so that saturated probabilities (infinite PhiInv) never enter the graph
    pA, pB = top2[keep, 0], top2[keep, 1]
    hinge = (gamma - (phi_inv(pA) - phi_inv(pB))) * sigma[keep] / 2.0
    return classification + lam * hinge.sum() / x.shape[0]


LOSSES = {'cohen': cohen_loss, 'smoothadv': smoothadv_loss, 'macer': macer_loss}
