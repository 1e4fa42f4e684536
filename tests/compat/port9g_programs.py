"""Two more public PyTorch programs written from memory, run with ``torch`` = PyTorch or
chainrule (test_port9_programs.py): DETR's set criterion (a Hungarian matcher over class, L1 and
generalized-IoU costs by scipy's linear_sum_assignment under no_grad, targets scattered by a
tuple of index tensors, a down-weighted no-object class, box losses on the matched pairs) and
PixelCNN++'s discretized logistic mixture likelihood (log-sum-exp by hand, nested torch.where
over edge, mid and tail cases, softplus forms of log CDFs).
"""

from __future__ import annotations

import numpy as np


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def box_cxcywh_to_xyxy(torch, x):
    x_c, y_c, w, h = x.unbind(-1)
    b = [(x_c - 0.5 * w), (y_c - 0.5 * h), (x_c + 0.5 * w), (y_c + 0.5 * h)]
    return torch.stack(b, dim=-1)


def box_area(boxes):
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def box_iou(torch, boxes1, boxes2):
    area1, area2 = box_area(boxes1), box_area(boxes2)
    lt = torch.max(boxes1[:, None, :2], boxes2[:, :2])
    rb = torch.min(boxes1[:, None, 2:], boxes2[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[:, :, 0] * wh[:, :, 1]
    union = area1[:, None] + area2 - inter
    return inter / union, union


def generalized_box_iou(torch, boxes1, boxes2):
    assert (boxes1[:, 2:] >= boxes1[:, :2]).all()
    assert (boxes2[:, 2:] >= boxes2[:, :2]).all()
    iou, union = box_iou(torch, boxes1, boxes2)
    lt = torch.min(boxes1[:, None, :2], boxes2[:, :2])
    rb = torch.max(boxes1[:, None, 2:], boxes2[:, 2:])
    wh = (rb - lt).clamp(min=0)
    area = wh[:, :, 0] * wh[:, :, 1]
    return iou - (area - union) / area


def detr_head(torch, feat_dim=6, num_queries=4, num_classes=3, hidden=8):
    nn = torch.nn

    class MLP(nn.Module):
        def __init__(self, input_dim, hidden_dim, output_dim, num_layers):
            super().__init__()
            self.num_layers = num_layers
            h = [hidden_dim] * (num_layers - 1)
            self.layers = nn.ModuleList(nn.Linear(n, k) for n, k in
                                        zip([input_dim] + h, h + [output_dim]))

        def forward(self, x):
            for i, layer in enumerate(self.layers):
                x = nn.functional.relu(layer(x)) if i < self.num_layers - 1 else layer(x)
            return x

    class DETRHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.query_embed = nn.Embedding(num_queries, hidden)
            self.input_proj = nn.Linear(feat_dim, hidden)
            self.class_embed = nn.Linear(hidden, num_classes + 1)
            self.bbox_embed = MLP(hidden, hidden, 4, 3)

        def forward(self, feats):
            memory = self.input_proj(feats)  # (B, S, H)
            q = self.query_embed.weight.unsqueeze(0).expand(feats.shape[0], -1, -1)
            attn = torch.softmax(q @ memory.transpose(1, 2) / hidden ** 0.5, dim=-1)
            hs = q + attn @ memory
            return {"pred_logits": self.class_embed(hs),
                    "pred_boxes": self.bbox_embed(hs).sigmoid()}

    return DETRHead()


def detr_criterion(torch, num_classes=3, eos_coef=0.1, cost_class=1.0, cost_bbox=5.0,
                   cost_giou=2.0):
    from scipy.optimize import linear_sum_assignment
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class HungarianMatcher(nn.Module):
        @torch.no_grad()
        def forward(self, outputs, targets):
            bs, num_queries = outputs["pred_logits"].shape[:2]
            out_prob = outputs["pred_logits"].flatten(0, 1).softmax(-1)
            out_bbox = outputs["pred_boxes"].flatten(0, 1)
            tgt_ids = torch.cat([v["labels"] for v in targets])
            tgt_bbox = torch.cat([v["boxes"] for v in targets])
            c_class = -out_prob[:, tgt_ids]
            c_bbox = torch.cdist(out_bbox, tgt_bbox, p=1)
            c_giou = -generalized_box_iou(torch, box_cxcywh_to_xyxy(torch, out_bbox),
                                          box_cxcywh_to_xyxy(torch, tgt_bbox))
            C = cost_bbox * c_bbox + cost_class * c_class + cost_giou * c_giou  # noqa: N806
            C = C.view(bs, num_queries, -1).cpu()  # noqa: N806
            sizes = [len(v["boxes"]) for v in targets]
            indices = [linear_sum_assignment(c[i]) for i, c in enumerate(C.split(sizes, -1))]
            return [(torch.as_tensor(i, dtype=torch.int64), torch.as_tensor(j, dtype=torch.int64))
                    for i, j in indices]

    class SetCriterion(nn.Module):
        def __init__(self):
            super().__init__()
            self.matcher = HungarianMatcher()
            empty_weight = torch.ones(num_classes + 1)
            empty_weight[-1] = eos_coef
            self.register_buffer("empty_weight", empty_weight)

        def _get_src_permutation_idx(self, indices):
            batch_idx = torch.cat([torch.full_like(src, i) for i, (src, _) in enumerate(indices)])
            src_idx = torch.cat([src for (src, _) in indices])
            return batch_idx, src_idx

        def loss_labels(self, outputs, targets, indices):
            src_logits = outputs["pred_logits"]
            idx = self._get_src_permutation_idx(indices)
            target_classes_o = torch.cat([t["labels"][J] for t, (_, J) in zip(targets, indices)])
            target_classes = torch.full(src_logits.shape[:2], num_classes, dtype=torch.int64)
            target_classes[idx] = target_classes_o
            return F.cross_entropy(src_logits.transpose(1, 2), target_classes,
                                   self.empty_weight.to(src_logits.dtype))

        def loss_boxes(self, outputs, targets, indices, num_boxes):
            idx = self._get_src_permutation_idx(indices)
            src_boxes = outputs["pred_boxes"][idx]
            target_boxes = torch.cat([t["boxes"][i] for t, (_, i) in zip(targets, indices)], dim=0)
            loss_bbox = F.l1_loss(src_boxes, target_boxes, reduction="none")
            loss_giou = 1 - torch.diag(generalized_box_iou(
                torch, box_cxcywh_to_xyxy(torch, src_boxes),
                box_cxcywh_to_xyxy(torch, target_boxes)))
            return loss_bbox.sum() / num_boxes, loss_giou.sum() / num_boxes

        def forward(self, outputs, targets):
            indices = self.matcher(outputs, targets)
            num_boxes = max(float(sum(len(t["labels"]) for t in targets)), 1.0)
            loss_ce = self.loss_labels(outputs, targets, indices)
            loss_bbox, loss_giou = self.loss_boxes(outputs, targets, indices, num_boxes)
            return {"loss_ce": loss_ce, "loss_bbox": loss_bbox, "loss_giou": loss_giou}, indices

    return SetCriterion()


def train_detr(torch, model, feats, targets, steps=4):
    criterion = detr_criterion(torch)
    weight_dict = {"loss_ce": 1, "loss_bbox": 5, "loss_giou": 2}
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    rows, matches = [], []
    for _ in range(steps):
        outputs = model(feats)
        loss_dict, indices = criterion(outputs, targets)
        losses = sum(loss_dict[k] * weight_dict[k] for k in loss_dict.keys() if k in weight_dict)
        optimizer.zero_grad()
        losses.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        optimizer.step()
        rows.append([losses.item()] + [v.item() for v in loss_dict.values()])
        matches.append([(i.tolist(), j.tolist()) for i, j in indices])
    return rows, matches, _state(model)


def log_sum_exp(torch, x):
    axis = len(x.size()) - 1
    m, _ = torch.max(x, dim=axis)
    m2, _ = torch.max(x, dim=axis, keepdim=True)
    return m + torch.log(torch.sum(torch.exp(x - m2), dim=axis))


def log_prob_from_logits(torch, x):
    axis = len(x.size()) - 1
    m, _ = torch.max(x, dim=axis, keepdim=True)
    return x - m - torch.log(torch.sum(torch.exp(x - m), dim=axis, keepdim=True))


def discretized_mix_logistic_loss_1d(torch, x, l):  # noqa: E741
    """PixelCNN++'s loss for one channel: x (B, C, H, W) in [-1, 1], l (B, 3 * nr_mix, H, W)."""
    F = torch.nn.functional  # noqa: N806
    x = x.permute(0, 2, 3, 1)
    l = l.permute(0, 2, 3, 1)  # noqa: E741
    xs = [int(y) for y in x.size()]
    nr_mix = int(l.size()[-1] / 3)
    logit_probs = l[:, :, :, :nr_mix]
    l = l[:, :, :, nr_mix:].contiguous().view(xs + [nr_mix * 2])  # noqa: E741
    means = l[:, :, :, :, :nr_mix]
    log_scales = torch.clamp(l[:, :, :, :, nr_mix:2 * nr_mix], min=-7.)
    x = x.contiguous()
    x = x.unsqueeze(-1) + torch.zeros(xs + [nr_mix], dtype=x.dtype)
    centered_x = x - means
    inv_stdv = torch.exp(-log_scales)
    plus_in = inv_stdv * (centered_x + 1. / 255.)
    cdf_plus = F.sigmoid(plus_in)
    min_in = inv_stdv * (centered_x - 1. / 255.)
    cdf_min = F.sigmoid(min_in)
    log_cdf_plus = plus_in - F.softplus(plus_in)
    log_one_minus_cdf_min = -F.softplus(min_in)
    cdf_delta = cdf_plus - cdf_min
    mid_in = inv_stdv * centered_x
    log_pdf_mid = mid_in - log_scales - 2. * F.softplus(mid_in)
    inner_inner_cond = (cdf_delta > 1e-5).float()
    inner_inner_out = inner_inner_cond * torch.log(torch.clamp(cdf_delta, min=1e-12)) + \
        (1. - inner_inner_cond) * (log_pdf_mid - np.log(127.5))
    inner_cond = (x > 0.999).float()
    inner_out = inner_cond * log_one_minus_cdf_min + (1. - inner_cond) * inner_inner_out
    cond = (x < -0.999).float()
    log_probs = cond * log_cdf_plus + (1. - cond) * inner_out
    log_probs = torch.sum(log_probs, dim=3) + log_prob_from_logits(torch, logit_probs)
    return -torch.sum(log_sum_exp(torch, log_probs))


def mixture_net(torch, nr_mix=3):
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ELU(), nn.Conv2d(8, 3 * nr_mix, 1))


def train_mixture_net(torch, model, images, steps=4):
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.999995)
    losses = []
    for _ in range(steps):
        loss = discretized_mix_logistic_loss_1d(torch, images, model(images))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        deno = images.numel() * np.log(2.)
        losses.append(loss.item() / deno)
    return losses, _state(model)
