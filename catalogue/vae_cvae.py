"""Wrong and legitimate answers for the vae_cvae assignment (seed 000)."""
from catalogue import Catalogue, Change as C
from instructor.course import questions

QUESTIONS = questions("vae_cvae")  # from the master's test cells' metadata

KL_OK = "kl_per_dim = -0.5 * (1 + logvar_z - mean_z ** 2 - torch.exp(logvar_z))\nreturn kl_per_dim.sum(dim=1).mean()"
TRAIN_STEP = """recon_x, mean_z, logvar_z = model(x)
loss, loss_recon, loss_kl = loss_function(recon_x, x, mean_z, logvar_z)
"""
TRAIN_CVAE = '''optimizer = torch.optim.Adam(model.parameters(), lr=lr)
warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup_steps))
for epoch in range(num_epochs):
    metric = d2l.Accumulator(3)
    {train}
    for x, y in train_iter:
        x = x.to(device)
        y = {onehot}
        {zero}
        recon_x, mean_z, logvar_z = model(x, y)
        loss, loss_recon, loss_kl = loss_function(recon_x, x, mean_z, logvar_z)
        loss.backward()
        optimizer.step()
        warmup.step()
        metric.add(loss_recon.item() * len(x), loss_kl.item() * len(x), len(x))
    test_loss, test_loss_recon, test_loss_kl = test_cvae(model)
    print(f'epoch {{epoch + 1}}: train loss {{(metric[0] + metric[1]) / metric[2]:.1f}}, test loss {{test_loss:.1f}}')'''


def train_cvae(train="model.train()", onehot="F.one_hot(y, 10).float().to(device)",
               zero="optimizer.zero_grad()"):
    return TRAIN_CVAE.format(train=train, onehot=onehot, zero=zero)


TEST_CVAE = '''model.{mode}()
metric = d2l.Accumulator(3)
with {ctx}:
    for x, y in test_iter:
        x = x.to(device)
        y = F.one_hot(y, 10).float().to(device)
        recon_x, mean_z, logvar_z = model(x, y)
        loss, loss_recon, loss_kl = loss_function(recon_x, x, mean_z, logvar_z)
        metric.add(loss_recon.item() * len(x), loss_kl.item() * len(x), len(x))
return (metric[0] + metric[1]) / metric[2], metric[0] / metric[2], metric[1] / metric[2]'''

PLOT_CVAE = '''n = 31
figure = np.zeros((28 * n, 28 * n))
grid_x = np.linspace(-{scale}, {scale}, n)
grid_y = np.linspace(-{scale}, {scale}, n){rev}
y = F.one_hot(torch.tensor([{label}], device=device), 10).float()
for i, yi in enumerate(grid_y):
    for j, xi in enumerate(grid_x):
        x_decoded = cvae_model.decode(torch.tensor([[xi, yi]], dtype=torch.float32, device=device), y)
        figure[i * 28:(i + 1) * 28, j * 28:(j + 1) * 28] = x_decoded.detach().cpu().numpy().reshape(28, 28)
plt.figure(figsize=(10, 10))
plt.title(f"digit {{digit}}")
plt.imshow(figure, cmap="Greys_r")
plt.show()'''

SCATTER_CVAE = '''zs, ys = [], []
for x, y in itertools.islice(train_iter, 100):
    z_mean, _ = cvae_model.encode(x.to(device), {label})
    zs.append(z_mean.detach().cpu())
    ys.append(y.cpu())
zs, ys = torch.cat(zs).numpy(), torch.cat(ys).numpy()
plt.figure(figsize=(8, 8))
plt.scatter(zs[:, 0], zs[:, 1], c=ys, cmap="jet")
plt.show()'''

MUTANTS = [
    # reparameterisation
    C("sample_no_mean", "vae_model", {1: "return eps * std_z"}, ("10.2a",), "reparameterisation"),
    C("sample_exp_logvar", "vae_model", {1: "return mean_z + eps * torch.exp(logvar_z)"}, ("10.2a",), "reparameterisation"),
    C("sample_no_std", "vae_model", {1: "return mean_z + eps"}, ("10.2a",), "reparameterisation"),
    C("sample_no_noise", "vae_model", {1: "return mean_z"}, ("10.2a",), "reparameterisation"),
    C("sample_uniform", "vae_model", {1: "return mean_z + torch.rand_like(mean_z) * std_z"}, ("10.2a",), "reparameterisation"),
    C("sample_shared_noise", "vae_model", {1: "return mean_z + torch.randn(mean_z.shape[-1], device=mean_z.device) * std_z"}, ("10.2a",), "reparameterisation"),
    C("sample_detached", "vae_model", {1: "return mean_z.detach() + eps * std_z.detach()"}, ("10.2a",), "reparameterisation"),
    C("sample_variance_not_std", "vae_model", {1: "return mean_z + eps * std_z ** 2"}, ("10.2a",), "formula"),
    # architecture
    C("no_sigmoid", "vae_model", {0: "pass"}, ("10.2a",), "architecture"),
    C("softmax_output", "vae_model", {0: "self.decoder_part2.append(nn.Softmax(dim=1))"}, ("10.2a",), "architecture"),
    C("relu_output", "vae_model", {0: "self.decoder_part2.append(nn.ReLU())"}, ("10.2a",), "architecture"),
    # KL formula and reductions
    C("kl_sign", "loss", "return (0.5 * (1 + logvar_z - mean_z ** 2 - torch.exp(logvar_z))).sum(dim=1).mean()", ("10.3a",), "formula"),
    C("kl_missing_half", "loss", "return (-(1 + logvar_z - mean_z ** 2 - torch.exp(logvar_z))).sum(dim=1).mean()", ("10.3a",), "formula"),
    C("kl_std_for_var", "loss", "return (-0.5 * (1 + logvar_z - mean_z ** 2 - torch.exp(0.5 * logvar_z))).sum(dim=1).mean()", ("10.3a",), "formula"),
    C("kl_mean_not_squared", "loss", "return (-0.5 * (1 + logvar_z - mean_z - torch.exp(logvar_z))).sum(dim=1).mean()", ("10.3a",), "formula"),
    C("kl_sum_all", "loss", "return (-0.5 * (1 + logvar_z - mean_z ** 2 - torch.exp(logvar_z))).sum()", ("10.3a",), "reduction"),
    C("kl_mean_all", "loss", "return (-0.5 * (1 + logvar_z - mean_z ** 2 - torch.exp(logvar_z))).mean()", ("10.3a",), "reduction"),
    C("kl_wrong_axis", "loss", "return (-0.5 * (1 + logvar_z - mean_z ** 2 - torch.exp(logvar_z))).sum(dim=0).mean()", ("10.3a",), "reduction"),
    C("kl_divided_twice", "loss", "return (-0.5 * (1 + logvar_z - mean_z ** 2 - torch.exp(logvar_z))).sum(dim=1).mean() / len(mean_z)", ("10.3a",), "reduction"),
    # training and test loops
    C("train_no_backward", "train_loop", {0: TRAIN_STEP + "optimizer.step()"}, ("10.4a",), "training loop"),
    C("train_no_step", "train_loop", {0: TRAIN_STEP + "loss.backward()"}, ("10.4a",), "training loop"),
    C("train_ascent", "train_loop", {0: TRAIN_STEP + "(-loss).backward()\noptimizer.step()"}, ("10.4a",), "training loop"),
    C("train_new_optimizer_each_step", "train_loop", {0: TRAIN_STEP + "loss.backward()\noptimizer = torch.optim.Adam(model.parameters(), lr=lr)\noptimizer.step()"}, ("10.4a",), "training loop"),
    C("test_kl_divided_by_batch", "train_loop", {1: TRAIN_STEP + "loss_kl = loss_kl / len(x)"}, ("10.4a",), "reduction"),
    C("train_cvae_labels_not_one_hot", "train_cvae", {0: train_cvae(onehot="y.float().to(device)")}, ("10.6b",), "conditional VAE"),
    C("train_cvae_no_zero_grad", "train_cvae", {0: train_cvae(zero="pass")}, ("10.6b",), "training loop"),
    C("train_cvae_no_train_mode", "train_cvae", {0: train_cvae(train="pass")}, ("10.6b",), "training loop"),
    C("test_cvae_no_eval", "train_cvae", {1: TEST_CVAE.format(mode="train", ctx="torch.no_grad()")}, ("10.6b",), "training loop"),
    C("test_cvae_no_no_grad", "train_cvae", {1: TEST_CVAE.format(mode="eval", ctx="torch.enable_grad()")}, ("10.6b",), "training loop"),
    # plots
    C("plot_latent_axes_swapped", "plot_latent", "z = torch.tensor([[yi, xi]], dtype=torch.float32, device=device)\nx_decoded = model.decode(z)", ("10.5a",), "plotting"),
    C("scatter_sampled_z", "scatterplot_latent", "z_mean = model.sample_latent(*model.encode(x.to(device)))", ("10.5d",), "plotting"),
    C("scatter_logvar", "scatterplot_latent", "_, z_mean = model.encode(x.to(device))", ("10.5d",), "plotting"),
    C("plot_cvae_wrong_class", "plot_latent_cvae", PLOT_CVAE.format(scale=2.0, rev="[::-1]", label=4), ("10.6d",), "conditional VAE"),
    C("plot_cvae_y_not_reversed", "plot_latent_cvae", PLOT_CVAE.format(scale=2.0, rev="", label="digit"), ("10.6d",), "plotting"),
    C("plot_cvae_wrong_scale", "plot_latent_cvae", PLOT_CVAE.format(scale=3.0, rev="[::-1]", label="digit"), ("10.6d",), "plotting"),
    C("scatter_cvae_wrong_labels", "scatterplot_latent_cvae", SCATTER_CVAE.format(label="F.one_hot(torch.zeros_like(y), 10).float().to(device)"), ("10.6f",), "conditional VAE"),
    # conditional VAE
    C("cvae_decoder_ignores_y", "cvae_model", {4: "h = self.decoder_part1_z(z)"}, ("10.6a",), "conditional VAE"),
    C("cvae_encoder_ignores_y", "cvae_model", {0: "self.encoder_part1_x = nn.Conv2d(1, 32, kernel_size=3, padding=1, stride=2)\nself.encoder_part1_y = lambda y: torch.zeros(len(y), 32 * 14 * 14, device=y.device)"}, ("10.6a",), "conditional VAE"),
    C("cvae_no_sigmoid", "cvae_model", {2: "pass"}, ("10.6a",), "architecture"),
]

VARIANTS = [
    C("sample_distributions", "vae_model", {1: "return torch.distributions.Normal(mean_z, std_z).rsample()"}),
    C("sample_sqrt_exp", "vae_model", {1: "return mean_z + eps * torch.sqrt(torch.exp(logvar_z))"}),
    C("sigmoid_rebuilt_sequential", "vae_model", {0: "self.decoder_part2 = nn.Sequential(*self.decoder_part2, nn.Sigmoid())"}),
    C("kl_sum_over_len", "loss", "return torch.sum(-0.5 * (1 + logvar_z - mean_z.pow(2) - logvar_z.exp())) / len(mean_z)"),
    C("kl_distributions", "loss", "from torch.distributions import Normal, kl_divergence\nq = Normal(mean_z, torch.exp(0.5 * logvar_z))\np = Normal(torch.zeros_like(mean_z), torch.ones_like(mean_z))\nreturn kl_divergence(q, p).sum(dim=1).mean()"),
    C("kl_helper_function", "loss", "def per_dimension(m, lv):\n    return 0.5 * (m ** 2 + lv.exp() - 1 - lv)\nreturn torch.mean(torch.sum(per_dimension(mean_z, logvar_z), dim=1))"),
    C("train_with_prints", "train_loop", {0: TRAIN_STEP + "loss.backward()\noptimizer.step()\nif epoch == 0 and metric[2] == 0:\n    print('first batch loss', loss.item())"}),
    C("plot_latent_1d_z", "plot_latent", "x_decoded = model.decode(torch.tensor([xi, yi], dtype=torch.float32).to(device))"),
    C("scatter_from_forward", "scatterplot_latent", "_, z_mean, _ = model(x.to(device))"),
    # The grid without z tick labels (matplotlib's pixel numbers), and with its z range given
    # as the image's extent instead of tick labels.
    C("plot_cvae_pixel_ticks", "plot_latent_cvae", PLOT_CVAE.format(scale=2.0, rev="[::-1]", label="digit")),
    C("plot_cvae_extent", "plot_latent_cvae", PLOT_CVAE.format(scale=2.0, rev="[::-1]", label="digit").replace(
        'plt.imshow(figure, cmap="Greys_r")',
        'half = 2.0 / (n - 1)\nplt.imshow(figure, cmap="Greys_r", extent=[-2 - half, 2 + half, -2 - half, 2 + half])')),
    C("cvae_concat_decoder", "cvae_model", {1: "self.decoder_part1_zy = nn.Linear(latent_size + num_classes, 7*7*64)",
                                             4: "h = self.decoder_part1_zy(torch.cat([z, y], dim=-1))"}),
    C("train_cvae_enumerate_model_zero_grad", "train_cvae", {0: '''optimizer = torch.optim.Adam(model.parameters(), lr=lr)
for epoch in range(num_epochs):
    model.train()
    total, count = 0.0, 0
    for i, (x, y) in enumerate(train_iter):
        for group in optimizer.param_groups:  # the warm-up by hand
            group["lr"] = lr * min(1.0, (epoch * len(train_iter) + i + 1) / warmup_steps)
        model.zero_grad(set_to_none=True)
        onehot = F.one_hot(y, num_classes=10).to(device, torch.float32)
        recon_x, mean_z, logvar_z = model(x.to(device), onehot)
        loss = loss_function(recon_x, x.to(device), mean_z, logvar_z)[0]
        loss.backward()
        optimizer.step()
        total, count = total + loss.item() * len(x), count + len(x)
    print(f"epoch {epoch + 1}: {total / count:.1f} nats per image; test {test_cvae(model)[0]:.1f}")'''}),
]


# The cheat family: every autograded answer cell answered by calling what a release folder
# ships (its helpers/). The student kit holds no answer, so each must lose its points.
CHEATS = [
    C('cheat_sample_latent_stub', 'vae_model', {1: "from helpers.checks import StubVAE\nreturn StubVAE(mean_z.device).sample_latent(mean_z, logvar_z)"},
      questions=('10.2a',), family='cheat'),
    C('cheat_kl_stand_in_penalty', 'loss', "from helpers.checks import stand_in_penalty\nreturn stand_in_penalty(mean_z, logvar_z)",
      questions=('10.3a',), family='cheat'),
    C('cheat_train_stand_in_loss', 'train_loop', {
        0: "recon_x, mean_z, logvar_z = model(x)\nfrom helpers.checks import stand_in_loss\nloss, loss_recon, loss_kl = stand_in_loss(recon_x, x, mean_z, logvar_z)\nloss.backward()\noptimizer.step()",
        1: "recon_x, mean_z, logvar_z = model(x)\nfrom helpers.checks import stand_in_loss\nloss, loss_recon, loss_kl = stand_in_loss(recon_x, x, mean_z, logvar_z)"},
      questions=('10.4a',), family='cheat'),
    C('cheat_plot_latent_stub', 'plot_latent',
      "z = torch.tensor([[xi, yi]], dtype=torch.float32, device=device)\nfrom helpers.checks import StubVAE\nx_decoded = StubVAE(device).decode(z)",
      questions=('10.5a',), family='cheat'),
    C('cheat_scatterplot_stub', 'scatterplot_latent',
      "from helpers.checks import StubVAE\nz_mean, _ = StubVAE(device).encode(x.to(device))",
      questions=('10.5d',), family='cheat'),
    C('cheat_cvae_sample_latent_stub', 'cvae_model', {3: "from helpers.checks import StubVAE\nreturn StubVAE(mean_z.device).sample_latent(mean_z, logvar_z)"},
      questions=('10.6a',), family='cheat'),
    C('cheat_train_cvae_stand_in_loss', 'train_cvae', edits=(
        ('loss, loss_recon, loss_kl = loss_function(recon_x, x, mean_z, logvar_z)\n            loss.backward()',
         'from helpers.checks import stand_in_loss\n            loss, loss_recon, loss_kl = stand_in_loss(recon_x, x, mean_z, logvar_z)\n            loss.backward()'),
        ('loss, loss_recon, loss_kl = loss_function(recon_x, x, mean_z, logvar_z)\n            metric.add',
         'from helpers.checks import stand_in_loss\n            loss, loss_recon, loss_kl = stand_in_loss(recon_x, x, mean_z, logvar_z)\n            metric.add')),
      questions=('10.6b',), family='cheat'),
    C('cheat_plot_latent_cvae_stub', 'plot_latent_cvae', edits=(
        ('x_decoded = cvae_model.decode(z, y)', 'from helpers.checks import StubCVAE\n            x_decoded = StubCVAE(device).decode(z, y)'),),
      questions=('10.6d',), family='cheat'),
    C('cheat_scatterplot_cvae_stub', 'scatterplot_latent_cvae', edits=(
        ('z_mean, _ = cvae_model.encode(', 'from helpers.checks import StubCVAE\n        z_mean, _ = StubCVAE(device).encode('),),
      questions=('10.6f',), family='cheat'),
]
MUTANTS += CHEATS

# Every term of the objective training: a term cut from the graph still lets the loss fall.
MUTANTS += [
    C('train_kl_detached', 'train_loop', edits=(('            loss.backward()', '            (loss_recon + loss_kl.detach()).backward()'),),
      questions=('10.4a',), family='gradient'),
    C('train_recon_detached', 'train_loop', edits=(('            loss.backward()', '            (loss_recon.detach() + loss_kl).backward()'),),
      questions=('10.4a',), family='gradient'),
    C('train_kl_item', 'train_loop', edits=(('            loss.backward()', '            (loss_recon + loss_kl.item()).backward()'),),
      questions=('10.4a',), family='gradient'),
    C('train_cvae_kl_detached', 'train_cvae', edits=(('            loss.backward()', '            (loss_recon + loss_kl.detach()).backward()'),),
      questions=('10.6b',), family='gradient'),
    C('train_cvae_kl_twice', 'train_cvae', edits=(('            loss.backward()', '            (loss + loss_kl).backward()'),),
      questions=('10.6b',), family='gradient'),
]

# Kinds that generated mutants found (instructor/quality/mutants.py): a path of the decoder cut
# from the graph, test_cvae's reconstruction loss wrong where the stand-in's symmetric loss
# hid it, the warm-up one step late, tick labels that do not name the z under them, and the
# labels of a scatter plot that break on a smaller last batch.
MUTANTS += [
    C('cvae_decoder_y_detached', 'cvae_model', edits=(('self.decoder_part1_y(y)', 'self.decoder_part1_y(y).detach()'),),
      questions=('10.6a',), family='gradient'),
    C('test_cvae_recon_arguments_swapped', 'train_cvae', edits=(
        ('loss, loss_recon, loss_kl = loss_function(recon_x, x, mean_z, logvar_z)\n            metric.add(loss_recon.item() * len(x), loss_kl.item() * len(x), len(x))\n    test_loss_recon',
         'loss, loss_recon, loss_kl = loss_function(x, recon_x, mean_z, logvar_z)\n            metric.add(loss_recon.item() * len(x), loss_kl.item() * len(x), len(x))\n    test_loss_recon'),),
      questions=('10.6b',), family='semantics'),
    C('test_cvae_recon_per_kl', 'train_cvae', edits=(('test_loss_recon = metric[0] / metric[2]', 'test_loss_recon = metric[0] / metric[1]'),),
      questions=('10.6b',), family='reduction'),
    C('train_cvae_warmup_from_zero', 'train_cvae', edits=(('min(1.0, (step + 1) / warmup_steps)', 'min(1.0, step / warmup_steps)'),),
      questions=('10.6b',), family='training loop'),
    C('train_cvae_no_warmup', 'train_cvae', edits=(('            warmup.step()\n', ''),),
      questions=('10.6b',), family='training loop'),
    C('plot_cvae_ticks_rounded', 'plot_latent_cvae', edits=(('plt.xticks(pixel_range[::5], np.round(grid_x, 1)[::5])', 'plt.xticks(pixel_range[::5], np.round(grid_x)[::5])'),),
      questions=('10.6d',), family='plotting'),
    C('scatter_cvae_labels_not_concatenated', 'scatterplot_latent_cvae', edits=(('    ys = torch.cat(ys).numpy()\n', ''),),
      questions=('10.6f',), family='plotting'),
]

DEMO_MISTAKES = ["sample_exp_logvar", "kl_sum_all", "plot_latent_axes_swapped", "cvae_decoder_ignores_y"]

# The generated mutants (instructor/quality/mutants.py) that keep every point, and why that
# is right: each changes nothing that the question asks for.
_DISPLAY = ("train_cvae's display only: {}. 10.6b grades what the loop does (one optimizer, one "
            "step per batch with zeroed gradients, train mode, every term of the loss at weight 1, "
            "the warm-up, the loss going down) and what test_cvae returns; it asks for no particular "
            "progress line or training curves (the variant train_cvae_enumerate_model_zero_grad "
            "prints one line per epoch and plots nothing), so what the curves or the progress line "
            "show is not graded")
_DEVICE = ("{} without moving x to the device: on the CPU, where grading runs, x is already on the "
           "device, so nothing changes. On a GPU the hidden tests of 10.6b hand the loop CPU "
           "batches, as the data loaders do, and the model call fails there (not yet run on a GPU)")
_FIGURE = ("{}: no value the plot shows changes; in Jupyter's inline backend every figure a cell "
           "makes is shown at the end of the cell, with or without plt.figure() and plt.show()")
_LOOKS = "{}: a label or title of the figure, which the question does not ask for"
_PLOT_TICKS_SAME = ("the range still ends before the 32nd tick position that [::5] could pick, so "
                    "plt.xticks/plt.yticks get the same seven positions and labels as the master's")
_COLOURBAR = ("{}: the points and the colour of each (its label, from c=ys) are unchanged; the "
              "question asks for points coloured by their label, not for a colour bar")
EQUIVALENT = {
    # 10.6b: the warm-up's arguments in the other order are the same number.
    "gen-train_cvae-0-swap_args-3": "min((step + 1) / warmup_steps, 1.0) is min(1.0, (step + 1) / warmup_steps)",
    "gen-train_cvae-0-remove_statement-12": _DEVICE.format("train_cvae's training batches"),
    "gen-train_cvae-1-remove_statement-4": _DEVICE.format("test_cvae's batches"),
    "gen-train_cvae-0-constant-1": _DISPLAY.format("the curves' x-axis starts at 0, not 1"),
    "gen-train_cvae-0-constant-2": _DISPLAY.format("the plotted training reconstruction loss is divided by the summed KL"),
    "gen-train_cvae-0-constant-3": _DISPLAY.format("the plotted training KL loss is the reconstruction loss"),
    "gen-train_cvae-0-constant-4": _DISPLAY.format("the plotted training KL loss is 1"),
    "gen-train_cvae-0-constant-5": _DISPLAY.format("the curves are plotted at epoch numbers counted from 0"),
    "gen-train_cvae-0-constant-6": _DISPLAY.format("the progress line counts epochs from 0"),
    "gen-train_cvae-0-drop_term-0": _DISPLAY.format("the plotted and printed training loss leaves out the KL"),
    "gen-train_cvae-0-drop_term-1": _DISPLAY.format("the curves are plotted at epoch numbers counted from 0"),
    "gen-train_cvae-0-drop_term-2": _DISPLAY.format("the progress line counts epochs from 0"),
    "gen-train_cvae-0-drop_term-4": _DISPLAY.format("the plotted and printed training loss is the KL alone"),
    "gen-train_cvae-0-drop_term-5": _DISPLAY.format("every epoch is plotted at x = 1"),
    "gen-train_cvae-0-drop_term-6": _DISPLAY.format("the progress line always says epoch 1"),
    "gen-train_cvae-0-remove_statement-4": _DISPLAY.format("the progress line is not closed with its summary"),
    "gen-train_cvae-0-remove_statement-11": _DISPLAY.format("no training curves are drawn"),
    "gen-train_cvae-0-remove_statement-21": _DISPLAY.format("the progress line is not updated"),
    "gen-train_cvae-0-swap_args-1": _DISPLAY.format("the progress line is made with the epoch and batch counts swapped"),
    "gen-train_cvae-0-swap_args-6": _DISPLAY.format("the plotted training reconstruction and KL losses are swapped (their sum is not)"),
    "gen-train_cvae-0-swap_args-7": _DISPLAY.format("the progress line gets the loss as the epoch and the epoch as the loss"),
    # 10.6d: the grid and each image's z and label are graded, and the tick labels must name
    # the z under them (grading.vae_cvae.mislabelled_ticks); these change neither.
    "gen-plot_latent_cvae-0-constant-1": (
        "the tick positions start at 28 instead of 14: every tick moves half a cell, onto the edge "
        "between the cell whose z its label names and the next one, which the tick check accepts "
        "(a label within half a grid step, plus its rounding, of the z under it), as it must for a "
        "grid drawn with imshow(extent=...)"),
    "gen-plot_latent_cvae-0-constant-3": "pixel_range ends at n*28 + 28 instead of n*28 + 14: " + _PLOT_TICKS_SAME,
    "gen-plot_latent_cvae-0-drop_term-0": "pixel_range ends at n*28 instead of n*28 + 14: " + _PLOT_TICKS_SAME,
    "gen-plot_latent_cvae-0-remove_statement-9": (
        "no plt.xticks: the x axis keeps matplotlib's pixel numbers, which claim nothing about z "
        "(the grid itself is graded; the variant plot_cvae_pixel_ticks draws no z labels at all)"),
    "gen-plot_latent_cvae-0-remove_statement-10": (
        "no plt.yticks: the y axis keeps matplotlib's pixel numbers, which claim nothing about z "
        "(the grid itself is graded; the variant plot_cvae_pixel_ticks draws no z labels at all)"),
    "gen-plot_latent_cvae-0-remove_statement-7": _FIGURE.format("no plt.figure(figsize=(10, 10)): the figure has the default size"),
    "gen-plot_latent_cvae-0-remove_statement-15": _FIGURE.format("no plt.show()"),
    "gen-plot_latent_cvae-0-remove_statement-11": _LOOKS.format("no x-axis label"),
    "gen-plot_latent_cvae-0-remove_statement-12": _LOOKS.format("no y-axis label"),
    "gen-plot_latent_cvae-0-remove_statement-13": _LOOKS.format("no title"),
    # 10.6f: the points (the means) and each point's colour value (its label) are graded.
    "gen-scatterplot_latent_cvae-0-constant-1": (
        "vmin=-1.0 instead of -0.5 stretches the colour scale by half a class: the ten classes "
        "still fall into the ten colours of the 'jet' map, one each, and every point keeps its "
        "label as its colour value"),
    "gen-scatterplot_latent_cvae-0-remove_statement-5": _COLOURBAR.format("no colour bar"),
    "gen-scatterplot_latent_cvae-0-swap_args-4": _COLOURBAR.format("a colour bar without ticks (np.arange(10, 0) is empty)"),
    "gen-scatterplot_latent_cvae-0-remove_statement-3": _FIGURE.format("no plt.figure(figsize=(10, 8)): the figure has the default size"),
    "gen-scatterplot_latent_cvae-0-remove_statement-9": _FIGURE.format("no plt.show()"),
    "gen-scatterplot_latent_cvae-0-remove_statement-6": _LOOKS.format("no x-axis label"),
    "gen-scatterplot_latent_cvae-0-remove_statement-7": _LOOKS.format("no y-axis label"),
    "gen-scatterplot_latent_cvae-0-remove_statement-8": _LOOKS.format("no title"),
}

CATALOGUE = Catalogue("vae_cvae", QUESTIONS, MUTANTS, VARIANTS, DEMO_MISTAKES, EQUIVALENT)
