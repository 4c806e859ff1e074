"""Wrong and legitimate answers for the kl_annealing assignment (seed 003)."""
from catalogue import Catalogue, Change as C
from instructor.course import questions

QUESTIONS = questions("kl_annealing")  # from the master's test cells' metadata

MUTANTS = [
    C('kl_normal_swapped_pq', 'kl_normal', edits=(('    return torch.log(sigma1 / sigma2) + (sigma2 ** 2 + (mu1 - mu2) ** 2) / (2 * sigma1 ** 2) - 0.5', '    return torch.log(sigma2 / sigma1) + (sigma1 ** 2 + (mu1 - mu2) ** 2) / (2 * sigma2 ** 2) - 0.5'),),
      questions=('11.1c',)),
    C('kl_normal_no_factor_2', 'kl_normal', edits=(('    return torch.log(sigma1 / sigma2) + (sigma2 ** 2 + (mu1 - mu2) ** 2) / (2 * sigma1 ** 2) - 0.5', '    return torch.log(sigma1 / sigma2) + (sigma2 ** 2 + (mu1 - mu2) ** 2) / (sigma1 ** 2) - 0.5'),),
      questions=('11.1c',)),
    C('kl_normal_log_var_ratio', 'kl_normal', edits=(('    return torch.log(sigma1 / sigma2) + (sigma2 ** 2 + (mu1 - mu2) ** 2) / (2 * sigma1 ** 2) - 0.5', '    return torch.log(sigma1 ** 2 / sigma2 ** 2) + (sigma2 ** 2 + (mu1 - mu2) ** 2) / (2 * sigma1 ** 2) - 0.5'),),
      questions=('11.1c',)),
    C('kl_normal_minus_one', 'kl_normal', edits=(('    return torch.log(sigma1 / sigma2) + (sigma2 ** 2 + (mu1 - mu2) ** 2) / (2 * sigma1 ** 2) - 0.5', '    return torch.log(sigma1 / sigma2) + (sigma2 ** 2 + (mu1 - mu2) ** 2) / (2 * sigma1 ** 2) - 1'),),
      questions=('11.1c',)),
    C('kl_normal_sigma_is_var', 'kl_normal', edits=(('    return torch.log(sigma1 / sigma2) + (sigma2 ** 2 + (mu1 - mu2) ** 2) / (2 * sigma1 ** 2) - 0.5', '    return 0.5 * torch.log(sigma1 / sigma2) + (sigma2 + (mu1 - mu2) ** 2) / (2 * sigma1) - 0.5'),),
      questions=('11.1c',)),
    C('kl_normal_summed', 'kl_normal', edits=(('    return torch.log(sigma1 / sigma2) + (sigma2 ** 2 + (mu1 - mu2) ** 2) / (2 * sigma1 ** 2) - 0.5', '    return (torch.log(sigma1 / sigma2) + (sigma2 ** 2 + (mu1 - mu2) ** 2) / (2 * sigma1 ** 2) - 0.5).sum()'),),
      questions=('11.1c',)),
    C('heads_leaky_relu', 'vae_model', edits=(('            nn.Linear(in_features=32, out_features=latent_size),\n        )', '            nn.Linear(in_features=32, out_features=latent_size),\n            nn.LeakyReLU(),\n        )'),),
      questions=('11.2a',)),
    C('std_is_exp_log_var', 'vae_model', edits=(('        std = torch.exp(0.5 * log_var)', '        std = torch.exp(log_var)'),),
      questions=('11.2a',)),
    C('z_uses_log_var', 'vae_model', edits=(('        z = mu + eps * std', '        z = mu + eps * log_var'),),
      questions=('11.2a',)),
    C('eps_uniform', 'vae_model', edits=(('        return self.distribution.sample(sample_shape).to(self.device)', '        return torch.rand(sample_shape, device=self.device)'),),
      questions=('11.2a',)),
    C('eps_shared_over_batch', 'vae_model', edits=(('        eps = self.sample_eps(std.shape)', '        eps = self.sample_eps(std.shape[1:])'),),
      questions=('11.2a',)),
    C('forward_returns_z', 'vae_model', edits=(('        return x_hat, mu, log_var', '        return z, mu, log_var'),),
      questions=('11.2a',)),
    C('kld_sum_over_batch', 'kl_divergence', edits=(('        return (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp())).sum(dim=1).mean()', '        return (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp())).sum()'),),
      questions=('11.2b',)),
    C('kld_mean_everything', 'kl_divergence', edits=(('        return (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp())).sum(dim=1).mean()', '        return (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp())).mean()'),),
      questions=('11.2b',)),
    C('kld_sign', 'kl_divergence', edits=(('        return (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp())).sum(dim=1).mean()', '        return (0.5 * (1 + log_var - mu.pow(2) - log_var.exp())).sum(dim=1).mean()'),),
      questions=('11.2b',)),
    C('kld_seed_div_latent', 'kl_divergence', edits=(('        return (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp())).sum(dim=1).mean()', '        return -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp()) / log_var.shape[1]'),),
      questions=('11.2b',)),
    C('kld_div_784', 'kl_divergence', edits=(('        return (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp())).sum(dim=1).mean()', '        return (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp())).sum(dim=1).mean() / 784'),),
      questions=('11.2b',)),
    C('kld_var_squared', 'kl_divergence', edits=(('        return (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp())).sum(dim=1).mean()', '        return (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp().pow(2))).sum(dim=1).mean()'),),
      questions=('11.2b',)),
    C('train_no_zero_grad', 'train_autoencoder', edits=(('            optimizer.zero_grad()\n', ''),),
      questions=('11.2c',)),
    C('train_bce_mean', 'train_autoencoder', edits=(("            batch_rec_loss = F.binary_cross_entropy(x_hat, x, reduction='sum') / x.shape[0]", '            batch_rec_loss = F.binary_cross_entropy(x_hat, x)'),),
      questions=('11.2c',)),
    C('train_bce_no_div', 'train_autoencoder', edits=(("            batch_rec_loss = F.binary_cross_entropy(x_hat, x, reduction='sum') / x.shape[0]", "            batch_rec_loss = F.binary_cross_entropy(x_hat, x, reduction='sum')"),),
      questions=('11.2c',)),
    C('train_div_batch_size', 'train_autoencoder', edits=(("            batch_rec_loss = F.binary_cross_entropy(x_hat, x, reduction='sum') / x.shape[0]", "            batch_rec_loss = F.binary_cross_entropy(x_hat, x, reduction='sum') / batch_size"),),
      questions=('11.2c',)),
    C('train_no_kl_weight', 'train_autoencoder', edits=(('            total_loss = batch_rec_loss + kl_weighting(ep) * batch_kl_loss', '            total_loss = batch_rec_loss + batch_kl_loss'),),
      questions=('11.2c',)),
    C('train_weight_on_rec', 'train_autoencoder', edits=(('            total_loss = batch_rec_loss + kl_weighting(ep) * batch_kl_loss', '            total_loss = kl_weighting(ep) * batch_rec_loss + batch_kl_loss'),),
      questions=('11.2c',)),
    C('train_weight_zero_based', 'train_autoencoder', edits=(('            total_loss = batch_rec_loss + kl_weighting(ep) * batch_kl_loss', '            total_loss = batch_rec_loss + kl_weighting(ep - 1) * batch_kl_loss'),),
      questions=('11.2c',)),
    C('train_mse', 'train_autoencoder', edits=(("            batch_rec_loss = F.binary_cross_entropy(x_hat, x, reduction='sum') / x.shape[0]", "            batch_rec_loss = F.mse_loss(x_hat, x, reduction='sum') / x.shape[0]"),),
      questions=('11.2c',)),
    C('train_bce_args_swapped', 'train_autoencoder', edits=(("            batch_rec_loss = F.binary_cross_entropy(x_hat, x, reduction='sum') / x.shape[0]", "            batch_rec_loss = F.binary_cross_entropy(x, x_hat.detach(), reduction='sum') / x.shape[0]"),),
      questions=('11.2c',)),
    C('grid_forward_sample', 'plot_reconstruction_grid', edits=(('    z = vae.encode(x_samples.to(vae.device).view(100, -1))\n    x_hat = vae.reconstruct(z).detach().cpu().view(100, 28, 28)', '    x_hat = vae(x_samples.to(vae.device).view(100, -1))[0].detach().cpu().view(100, 28, 28)'),),
      questions=('11.2d',)),
    C('grid_blocks_not_interleaved', 'plot_reconstruction_grid', edits=(('    for row in range(4):\n        image_list.extend(x_samples[25 * row:25 * (row + 1)])\n        image_list.extend(x_hat[25 * row:25 * (row + 1)])', '    image_list.extend(x_samples)\n    image_list.extend(x_hat)'),),
      questions=('11.2d',)),
    C('grid_first_row_twice', 'plot_reconstruction_grid', edits=(('        image_list.extend(x_hat[25 * row:25 * (row + 1)])', '        image_list.extend(x_hat[25 * row + 1:25 * (row + 1) + 1])'),),
      questions=('11.2d',)),
    C('klw_ramp_one_early', 'kl_weight_manager', edits=(('        if cur_epoch <= self.warm_up:\n            return 0.0\n        if cur_epoch >= self.warm_up + self.annealing_rounds:\n            return 1.0\n        return (cur_epoch - self.warm_up) / self.annealing_rounds', '        if cur_epoch < self.warm_up:\n            return 0.0\n        return min(1.0, (cur_epoch - self.warm_up + 1) / self.annealing_rounds)'),),
      questions=('11.3a',)),
    C('klw_ramp_one_late', 'kl_weight_manager', edits=(('        if cur_epoch <= self.warm_up:\n            return 0.0\n        if cur_epoch >= self.warm_up + self.annealing_rounds:\n            return 1.0\n        return (cur_epoch - self.warm_up) / self.annealing_rounds', '        return min(1.0, max(0.0, (cur_epoch - self.warm_up - 1) / self.annealing_rounds))'),),
      questions=('11.3a',)),
    C('klw_denominator_plus_one', 'kl_weight_manager', edits=(('        if cur_epoch <= self.warm_up:\n            return 0.0\n        if cur_epoch >= self.warm_up + self.annealing_rounds:\n            return 1.0\n        return (cur_epoch - self.warm_up) / self.annealing_rounds', '        return min(1.0, max(0.0, (cur_epoch - self.warm_up) / (self.annealing_rounds + 1)))'),),
      questions=('11.3a',)),
    C('klw_no_cap', 'kl_weight_manager', edits=(('        if cur_epoch <= self.warm_up:\n            return 0.0\n        if cur_epoch >= self.warm_up + self.annealing_rounds:\n            return 1.0\n        return (cur_epoch - self.warm_up) / self.annealing_rounds', '        return max(0.0, (cur_epoch - self.warm_up) / self.annealing_rounds)'),),
      questions=('11.3a',)),
    C('klw_stateful', 'kl_weight_manager', edits=(('        if cur_epoch <= self.warm_up:\n            return 0.0\n        if cur_epoch >= self.warm_up + self.annealing_rounds:\n            return 1.0\n        return (cur_epoch - self.warm_up) / self.annealing_rounds', "        self.calls = getattr(self, 'calls', 0) + 1\n        return min(1.0, max(0.0, (self.calls - self.warm_up) / self.annealing_rounds))"),),
      questions=('11.3a',)),
    C('klw_int_division', 'kl_weight_manager', edits=(('        if cur_epoch <= self.warm_up:\n            return 0.0\n        if cur_epoch >= self.warm_up + self.annealing_rounds:\n            return 1.0\n        return (cur_epoch - self.warm_up) / self.annealing_rounds', '        return min(1.0, max(0.0, (cur_epoch - self.warm_up) // self.annealing_rounds))'),),
      questions=('11.3a',)),
    C('klw_zero_based_epochs', 'kl_weight_manager', edits=(('        if cur_epoch <= self.warm_up:\n            return 0.0\n        if cur_epoch >= self.warm_up + self.annealing_rounds:\n            return 1.0\n        return (cur_epoch - self.warm_up) / self.annealing_rounds', '        return min(1.0, max(0.0, (cur_epoch + 1 - self.warm_up) / self.annealing_rounds))'),),
      questions=('11.3a',)),
    C('kpd_sum_over_batch', 'kl_per_dimension', edits=(('    return (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp())).mean(dim=0)', '    return (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp())).sum(dim=0)'),),
      questions=('11.3b',)),
    C('kpd_wrong_axis', 'kl_per_dimension', edits=(('    return (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp())).mean(dim=0)', '    return (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp())).mean(dim=1)'),),
      questions=('11.3b',)),
    C('kpd_no_half', 'kl_per_dimension', edits=(('    return (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp())).mean(dim=0)', '    return (-(1 + log_var - mu.pow(2) - log_var.exp())).mean(dim=0)'),),
      questions=('11.3b',)),
    C('prior_uniform', 'sample_prior', edits=(('    return torch.randn(n, latent_size, device=device)', '    return torch.rand((n, latent_size), device=device)'),),
      questions=('11.4a',)),
    C('prior_uniform_standardised', 'sample_prior', edits=(('    return torch.randn(n, latent_size, device=device)', '    return (torch.rand((n, latent_size), device=device) * 2 - 1) * 3 ** 0.5'),),
      questions=('11.4a',)),
    C('prior_fixed_seed', 'sample_prior', edits=(('    return torch.randn(n, latent_size, device=device)', '    torch.manual_seed(0)\n    return torch.randn(n, latent_size, device=device)'),),
      questions=('11.4a',)),
    C('prior_transposed', 'sample_prior', edits=(('    return torch.randn(n, latent_size, device=device)', '    return torch.randn(latent_size, n, device=device)'),),
      questions=('11.4a',)),
    C('prior_same_noise_all_dims', 'sample_prior', edits=(('    return torch.randn(n, latent_size, device=device)', '    return torch.randn(n, 1, device=device).expand(n, latent_size)'),),
      questions=('11.4a',)),
    C('prior_std_2', 'sample_prior', edits=(('    return torch.randn(n, latent_size, device=device)', '    return 2 * torch.randn(n, latent_size, device=device)'),),
      questions=('11.4a',)),
    C('interp_endpoint_excluded', 'interpolate_linear', edits=(('    weights = torch.linspace(0, 1, steps, device=x.device, dtype=x.dtype)\n    return torch.stack([torch.lerp(x, y, w) for w in weights])', '    weights = torch.linspace(0, 1, steps + 1, device=x.device)[:-1]\n    return torch.stack([torch.lerp(x, y, w) for w in weights])'),),
      questions=('11.4c',)),
    C('interp_k_over_steps', 'interpolate_linear', edits=(('    weights = torch.linspace(0, 1, steps, device=x.device, dtype=x.dtype)\n    return torch.stack([torch.lerp(x, y, w) for w in weights])', '    return torch.stack([x + k / steps * (y - x) for k in range(steps)])'),),
      questions=('11.4c',)),
    C('interp_steps_plus_one', 'interpolate_linear', edits=(('    weights = torch.linspace(0, 1, steps, device=x.device, dtype=x.dtype)\n    return torch.stack([torch.lerp(x, y, w) for w in weights])', '    return torch.stack([x + k / steps * (y - x) for k in range(steps + 1)])'),),
      questions=('11.4c',)),
    C('interp_reversed', 'interpolate_linear', edits=(('    weights = torch.linspace(0, 1, steps, device=x.device, dtype=x.dtype)\n    return torch.stack([torch.lerp(x, y, w) for w in weights])', '    weights = torch.linspace(0, 1, steps, device=x.device)\n    return torch.stack([torch.lerp(y, x, w) for w in weights])'),),
      questions=('11.4c',)),
    C('interp_interior_only', 'interpolate_linear', edits=(('    weights = torch.linspace(0, 1, steps, device=x.device, dtype=x.dtype)\n    return torch.stack([torch.lerp(x, y, w) for w in weights])', '    weights = torch.linspace(0, 1, steps + 2, device=x.device)[1:-1]\n    return torch.stack([torch.lerp(x, y, w) for w in weights])'),),
      questions=('11.4c',)),
]

VARIANTS = [
    C('kl_normal_distributions', 'kl_normal', edits=(('    return torch.log(sigma1 / sigma2) + (sigma2 ** 2 + (mu1 - mu2) ** 2) / (2 * sigma1 ** 2) - 0.5', '    from torch.distributions import kl_divergence\n    return kl_divergence(Normal(mu2, sigma2), Normal(mu1, sigma1))'),)),
    C('kl_normal_log_variances', 'kl_normal', edits=(('    return torch.log(sigma1 / sigma2) + (sigma2 ** 2 + (mu1 - mu2) ** 2) / (2 * sigma1 ** 2) - 0.5', '    return 0.5 * (torch.log(sigma1 ** 2) - torch.log(sigma2 ** 2)) + (sigma2.pow(2) + (mu2 - mu1).pow(2)) / (2 * sigma1.pow(2)) - 1 / 2'),)),
    C('eps_randn_device', 'vae_model', edits=(('        return self.distribution.sample(sample_shape).to(self.device)', '        return torch.randn(sample_shape, device=self.device)'),)),
    C('forward_rsample', 'vae_model', edits=(('        eps = self.sample_eps(std.shape)\n        z = mu + eps * std', '        z = Normal(mu, std).rsample()'),)),
    C('heads_activation_first', 'vae_model', edits=(('        self.mu = nn.Sequential(\n            nn.Linear(in_features=64, out_features=32),\n            nn.LeakyReLU(),\n', '        self.mu = nn.Sequential(\n            nn.LeakyReLU(),\n            nn.Linear(in_features=64, out_features=32),\n'),)),
    C('heads_single_linear', 'vae_model', edits=(('        self.mu = nn.Sequential(\n            nn.Linear(in_features=64, out_features=32),\n            nn.LeakyReLU(),\n            nn.Linear(in_features=32, out_features=latent_size),\n        )', '        self.mu = nn.Linear(64, latent_size)'),)),
    C('kld_seed_div_batch', 'kl_divergence', edits=(('        return (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp())).sum(dim=1).mean()', '        return -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp()) / log_var.shape[0]'),)),
    C('kld_distributions', 'kl_divergence', edits=(('        return (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp())).sum(dim=1).mean()', '        from torch.distributions import kl_divergence\n        q = Normal(mu, torch.exp(0.5 * log_var))\n        return kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(dim=1).mean()'),)),
    C('train_bce_none_sum_mean', 'train_autoencoder', edits=(("            batch_rec_loss = F.binary_cross_entropy(x_hat, x, reduction='sum') / x.shape[0]", "            batch_rec_loss = F.binary_cross_entropy(x_hat, x, reduction='none').sum(dim=1).mean()"),)),
    C('train_bceloss_module', 'train_autoencoder', edits=(("            batch_rec_loss = F.binary_cross_entropy(x_hat, x, reduction='sum') / x.shape[0]", "            batch_rec_loss = nn.BCELoss(reduction='sum')(x_hat, x) / len(x)"),)),
    C('grid_numpy_concat', 'plot_reconstruction_grid', edits=(('    image_list = []\n    for row in range(4):\n        image_list.extend(x_samples[25 * row:25 * (row + 1)])\n        image_list.extend(x_hat[25 * row:25 * (row + 1)])\n    grid = image_grid(image_list, ncols=25)', '    x_np = x_samples.view(4, 25, 28, 28).numpy(); r_np = x_hat.view(4, 25, 28, 28).numpy()\n    rows = []\n    for row in range(4):\n        rows.append(np.concatenate(list(x_np[row]), axis=1)); rows.append(np.concatenate(list(r_np[row]), axis=1))\n    grid = np.concatenate(rows, axis=0)'),)),
    C('klw_seed_code', 'kl_weight_manager', edits=(('        if cur_epoch <= self.warm_up:\n            return 0.0\n        if cur_epoch >= self.warm_up + self.annealing_rounds:\n            return 1.0\n        return (cur_epoch - self.warm_up) / self.annealing_rounds', '        if cur_epoch < self.warm_up:\n            return 0.0\n        elif cur_epoch >= self.warm_up + self.annealing_rounds:\n            return 1.0\n        else:\n            progress = cur_epoch - self.warm_up\n            return progress / self.annealing_rounds'),)),
    C('klw_clamp', 'kl_weight_manager', edits=(('        if cur_epoch <= self.warm_up:\n            return 0.0\n        if cur_epoch >= self.warm_up + self.annealing_rounds:\n            return 1.0\n        return (cur_epoch - self.warm_up) / self.annealing_rounds', '        return float(np.clip((cur_epoch - self.warm_up) / self.annealing_rounds, 0, 1))'),)),
    C('kpd_distributions', 'kl_per_dimension', edits=(('    return (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp())).mean(dim=0)', '    from torch.distributions import kl_divergence\n    return kl_divergence(Normal(mu, (0.5 * log_var).exp()), Normal(0.0, 1.0)).sum(dim=0) / len(mu)'),)),
    C('prior_normal_sample', 'sample_prior', edits=(('    return torch.randn(n, latent_size, device=device)', '    return Normal(0, 1).sample((n, latent_size)).to(device)'),)),
    C('prior_torch_normal', 'sample_prior', edits=(('    return torch.randn(n, latent_size, device=device)', '    return torch.normal(0.0, 1.0, size=(n, latent_size), device=device)'),)),
    C('interp_seed_loop', 'interpolate_linear', edits=(('    weights = torch.linspace(0, 1, steps, device=x.device, dtype=x.dtype)\n    return torch.stack([torch.lerp(x, y, w) for w in weights])', '    cur_weight = 0.0\n    weight_incr = 1 / (steps - 1)\n    result = torch.zeros((steps, *x.shape), device=x.device)\n    for step in range(steps):\n        result[step] = torch.lerp(x, y, cur_weight)\n        cur_weight += weight_incr\n    return result'),)),
    C('interp_broadcast_flat', 'interpolate_linear', edits=(('    weights = torch.linspace(0, 1, steps, device=x.device, dtype=x.dtype)\n    return torch.stack([torch.lerp(x, y, w) for w in weights])', '    w = torch.linspace(0, 1, steps, device=x.device)\n    return x + w[:, None] * (y - x)'),)),
    C('interp_broadcast_view', 'interpolate_linear', edits=(('    weights = torch.linspace(0, 1, steps, device=x.device, dtype=x.dtype)\n    return torch.stack([torch.lerp(x, y, w) for w in weights])', '    w = torch.linspace(0, 1, steps, device=x.device).view(-1, *[1] * x.dim())\n    return x + w * (y - x)'),)),
]


# The cheat family: every autograded answer cell answered by calling what a release folder
# ships (its helpers/). The student kit holds no answer, so each must lose its points.
CHEATS = [
    C('cheat_kl_normal_monte_carlo', 'kl_normal',
      "from helpers.annealing_checks import monte_carlo_kl\n"
      "return torch.tensor([monte_carlo_kl(float(mu2), float(sigma2), float(mu1), float(sigma1), n=200_000, seed=0)[0]],\n"
      "                    dtype=mu1.dtype, device=mu1.device)",
      questions=('11.1c',), family='cheat'),
    C('cheat_forward_stand_in', 'vae_model', {2: "from helpers.annealing_checks import StandInMLPVAE\nreturn StandInMLPVAE.forward(self, x)"},
      questions=('11.2a',), family='cheat'),
    C('cheat_kl_quadratic_penalty', 'kl_divergence', "from helpers.annealing_checks import QuadraticPenalty\nreturn QuadraticPenalty()(mu, log_var)",
      questions=('11.2b',), family='cheat'),
    C('cheat_train_quadratic_penalty', 'train_autoencoder', edits=(
        ('batch_kl_loss = kl_loss(mu, log_var)', 'from helpers.annealing_checks import QuadraticPenalty\n            batch_kl_loss = QuadraticPenalty()(mu, log_var)'),),
      questions=('11.2c',), family='cheat'),
    C('cheat_reconstruction_grid_stub', 'plot_reconstruction_grid', edits=(
        ('z = vae.encode(x_samples.to(vae.device).view(100, -1))\n    x_hat = vae.reconstruct(z)',
         'from helpers.annealing_checks import GridStubVAE\n    stand_in = GridStubVAE(vae.device)\n'
         '    z = stand_in.encode(x_samples.to(vae.device).view(100, -1))\n    x_hat = stand_in.reconstruct(z)'),),
      questions=('11.2d',), family='cheat'),
    C('cheat_kl_weight_budget', 'kl_weight_manager', "import helpers\nreturn float(helpers.scaled(1.0, grading=0.0))",
      questions=('11.3a',), family='cheat'),
    C('cheat_kl_per_dimension_penalty', 'kl_per_dimension',
      "from helpers.annealing_checks import QuadraticPenalty\nreturn torch.stack([QuadraticPenalty()(mu[:, j], log_var[:, j]) for j in range(mu.shape[1])])",
      questions=('11.3b',), family='cheat'),
    C('cheat_sample_prior_fixed_posterior', 'sample_prior',
      "from helpers.annealing_checks import FixedPosterior\n"
      "return FixedPosterior(torch.zeros(latent_size), torch.zeros(latent_size)).to(device)(torch.empty(n, 1))[0]",
      questions=('11.4a',), family='cheat'),
    C('cheat_interpolate_fixed_posterior', 'interpolate_linear',
      "from helpers.annealing_checks import FixedPosterior\nreturn FixedPosterior(x, y)(torch.empty(steps, 1))[0]",
      questions=('11.4c',), family='cheat'),
]
MUTANTS += CHEATS

# What an output means, not only its shape, and every term of the objective training
# (issue: wrong answers that kept full marks). Invariants are written beside the tests.
_LOG_VAR_HEAD = ("        self.log_var = nn.Sequential(\n            nn.Linear(in_features=64, out_features=32),\n"
                 "            nn.LeakyReLU(),\n            nn.Linear(in_features=32, out_features=latent_size),\n        )")
MUTANTS += [
    C('forward_returns_sigma', 'vae_model', edits=(('        return x_hat, mu, log_var', '        return x_hat, mu, std'),),
      questions=('11.2a',), family='semantics'),
    C('forward_returns_variance', 'vae_model', edits=(('        return x_hat, mu, log_var', '        return x_hat, mu, log_var.exp()'),),
      questions=('11.2a',), family='semantics'),
    C('forward_returns_log_sigma', 'vae_model', edits=(('        return x_hat, mu, log_var', '        return x_hat, mu, 0.5 * log_var'),),
      questions=('11.2a',), family='semantics'),
    C('heads_tied', 'vae_model', edits=((_LOG_VAR_HEAD, '        self.log_var = self.mu'),),
      questions=('11.2a',), family='semantics'),
    C('train_kl_item', 'train_autoencoder', edits=(('            batch_kl_loss = kl_loss(mu, log_var)', '            batch_kl_loss = kl_loss(mu, log_var).item()'),),
      questions=('11.2c',), family='gradient'),
    C('train_kl_detached', 'train_autoencoder', edits=(('            batch_kl_loss = kl_loss(mu, log_var)', '            batch_kl_loss = kl_loss(mu, log_var).detach()'),),
      questions=('11.2c',), family='gradient'),
    C('train_kl_float', 'train_autoencoder', edits=(('            total_loss = batch_rec_loss + kl_weighting(ep) * batch_kl_loss', '            total_loss = batch_rec_loss + kl_weighting(ep) * float(batch_kl_loss)'),),
      questions=('11.2c',), family='gradient'),
    C('train_rec_detached', 'train_autoencoder', edits=(("F.binary_cross_entropy(x_hat, x, reduction='sum')", "F.binary_cross_entropy(x_hat.detach(), x, reduction='sum')"),),
      questions=('11.2c',), family='gradient'),
    C('train_weight_next_epoch', 'train_autoencoder', edits=(('kl_weighting(ep)', 'kl_weighting(ep + 1)'),),
      questions=('11.2c',), family='gradient'),
]

DEMO_MISTAKES = ["kl_normal_swapped_pq", "klw_ramp_one_late", "prior_uniform", "interp_endpoint_excluded"]

# The generated mutants (instructor/quality/mutants.py) that keep every point, and why that
# is right: each changes nothing that the question asks for.
_VALUE_ONLY = ("{} is asked for and graded as a value: nothing in the notebook trains through it "
               "(it is evaluated under torch.no_grad() or on plain tensors), so detaching a term "
               "leaves every value it returns unchanged")
_SYMMETRIC = ("N(0, 1) is symmetric: -e has the distribution of e, so negating a standard normal "
              "sample is another sample of the same distribution")
EQUIVALENT = {
    "gen-kl_normal-0-detach_term-0": _VALUE_ONLY.format("kl_normal (11.1c)"),
    "gen-kl_normal-0-detach_term-1": _VALUE_ONLY.format("kl_normal (11.1c)"),
    "gen-kl_per_dimension-0-detach_term-0": _VALUE_ONLY.format("kl_per_dimension (11.3b)"),
    "gen-vae_model-1-negate-0": "sample_eps: " + _SYMMETRIC,
    "gen-sample_prior-0-negate-0": "sample_prior: " + _SYMMETRIC,
    "gen-vae_model-0-swap_args-0": (
        "the activation moved before the head's first Linear layer: the head's inner layers are "
        "not graded (a single Linear head is the variant heads_single_linear), only that each "
        "head ends in a Linear layer and that the two heads differ; the variant "
        "heads_activation_first keeps this kind in make test"),
    "gen-vae_model-0-swap_args-1": "the same as gen-vae_model-0-swap_args-0, in the log-variance head",
    "gen-kl_weight_manager-0-negate-1": "-0.0 == 0.0: the weight during the warm-up is the same number",
    "gen-kl_weight_manager-0-off_by_one-0": (
        "at cur_epoch == warm_up the ramp's formula gives (warm_up - warm_up) / annealing_rounds = 0, "
        "the warm-up's value, so < and <= give the same schedule"),
    "gen-kl_weight_manager-0-off_by_one-1": (
        "at cur_epoch == warm_up + annealing_rounds the ramp's formula gives 1, the value after the "
        "ramp, so > and >= give the same schedule"),
}

CATALOGUE = Catalogue("kl_annealing", QUESTIONS, MUTANTS, VARIANTS, DEMO_MISTAKES, EQUIVALENT)
