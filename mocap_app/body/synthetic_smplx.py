"""A synthetic SMPL-X model file for tests and benchmarks (the real files are licensed downloads).

`write_synthetic_smplx(folder)` writes `folder/smplx/SMPLX_<GENDER>.npz` with the keys, shapes and
dtypes that smplx 0.1.28 reads and the real counts (10475 vertices, 20908 faces, 55 joints,
shapedirs 10475x3x400 = 300 shape + 100 expression, posedirs 10475x3x486, J_regressor 55x10475,
weights 10475x55, hand PCA 45x45, hand means, 51 static face landmarks placed like the iBUG points on
the head, 79x17 random dynamic ones), with sane geometry: a 1.81 m T-pose humanoid made of one closed
capsule per joint, skinned to its own joint and blended with its parent near the joint. J_regressor @
v_template reproduces the joint positions exactly; vertices are permuted so smplx's fixed keypoint vertex
ids (nose, eyes, ears, toes, heels, finger tips) land on the matching body part. numpy only; ~4 s and
14 MB per file.

It is not a body anyone should animate: it exists so that the loading, posing, rendering and
export code can run end to end (CI, `bench render`) without the licensed files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

N_VERTS, N_FACES, N_JOINTS = 10475, 20908, 55
N_SHAPE, N_EXPR = 300, 100
N_LMK, N_DYN_ROT, N_DYN_LMK = 51, 79, 17

# SMPL-X kinematic tree (joint order = smplx full_pose order: root, 21 body,
# jaw, left eye, right eye, 15 left-hand, 15 right-hand joints).
PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18,
           19, 15, 15, 15, 20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20,
           37, 38, 21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53]

# smplx.vertex_ids.vertex_ids['smplx'] (copied so the script needs only numpy)
VERTEX_IDS = {'nose': 9120, 'reye': 9929, 'leye': 9448, 'rear': 616, 'lear': 6,
              'rthumb': 8079, 'rindex': 7669, 'rmiddle': 7794, 'rring': 7905,
              'rpinky': 8022, 'lthumb': 5361, 'lindex': 4933, 'lmiddle': 5058,
              'lring': 5169, 'lpinky': 5286, 'LBigToe': 5770, 'LSmallToe': 5780,
              'LHeel': 8846, 'RBigToe': 8463, 'RSmallToe': 8474, 'RHeel': 8635}


def joint_positions():
    """Rest (T-pose) joint positions in metres; y up, z forward, +x = subject's left."""
    J = np.zeros((N_JOINTS, 3))
    left = {1: (0.06, -0.09, 0.0), 4: (0.10, -0.47, 0.0), 7: (0.09, -0.87, -0.03),
            10: (0.11, -0.93, 0.09), 13: (0.07, 0.40, 0.0), 16: (0.18, 0.44, -0.01),
            18: (0.44, 0.43, -0.03), 20: (0.69, 0.43, -0.02), 23: (0.032, 0.66, 0.085)}
    for k, p in left.items():
        J[k] = p
    J[3], J[6], J[9], J[12] = (0, 0.10, -0.02), (0, 0.23, 0.0), (0, 0.29, 0.02), (0, 0.50, -0.01)
    J[15], J[22] = (0, 0.60, 0.03), (0, 0.57, 0.05)
    # left hand: index, middle, pinky, ring, thumb (3 joints each)
    fingers = {25: ((0.790, 0.43, 0.025), (1, 0, 0.05), 0.038),
               28: ((0.795, 0.43, 0.002), (1, 0, 0.0), 0.042),
               31: ((0.775, 0.43, -0.045), (1, 0, -0.08), 0.030),
               34: ((0.790, 0.43, -0.022), (1, 0, -0.04), 0.038),
               37: ((0.720, 0.42, 0.030), (0.7, -0.1, 0.7), 0.032)}
    for k, (base, d, seg) in fingers.items():
        d = np.asarray(d) / np.linalg.norm(d)
        for i in range(3):
            J[k + i] = np.asarray(base) + d * seg * i
    # mirror left -> right
    mirror = {1: 2, 4: 5, 7: 8, 10: 11, 13: 14, 16: 17, 18: 19, 20: 21, 23: 24}
    mirror.update({k: k + 15 for k in range(25, 40)})
    for left, right in mirror.items():
        J[right] = J[left] * np.array([-1, 1, 1])
    return J


def capsule_specs(J):
    """Per joint: (start, end, radius, segments); capsule k is skinned to joint k."""
    children = {k: [c for c in range(N_JOINTS) if PARENTS[c] == k] for k in range(N_JOINTS)}
    radius = np.full(N_JOINTS, 0.009)
    radius[[0, 3, 6]] = [0.13, 0.125, 0.13]
    radius[9], radius[12], radius[15] = 0.14, 0.05, 0.095
    radius[[1, 2]], radius[[4, 5]], radius[[7, 8]], radius[[10, 11]] = 0.08, 0.055, 0.04, 0.035
    radius[[13, 14]], radius[[16, 17]], radius[[18, 19]], radius[[20, 21]] = 0.05, 0.05, 0.04, 0.03
    radius[22], radius[[23, 24]] = 0.03, 0.012
    radius[[37, 38, 39, 52, 53, 54]] = 0.011
    segs = np.full(N_JOINTS, 8)
    segs[[0, 3, 6, 9]] = 24
    segs[[12, 15, 1, 2, 4, 5, 16, 17, 18, 19]] = 16
    segs[[7, 8, 10, 11, 13, 14, 20, 21, 22]] = 12
    segs[23], segs[24] = 7, 9          # odd counts make the exact vertex total reachable
    specs = []
    for k in range(N_JOINTS):
        s = J[k]
        if k == 0:
            e = J[3]
        elif k == 9:
            e = J[12]
        elif k == 15:
            e = s + np.array([0, 0.17, 0])
        elif k in (20, 21):
            e = J[[children[k][i] for i in range(4)]].mean(0)     # palm: mean of finger bases
        elif k in (10, 11):
            e = s + np.array([0, -0.02, 0.08])
        elif k == 22:
            e = s + np.array([0, -0.03, 0.05])
        elif k in (23, 24):
            e = s + np.array([0, 0, 0.015])
        elif len(children[k]) == 1:
            e = J[children[k][0]]
        else:                       # finger tips (leaf phalanges): extend along the finger
            d = s - J[PARENTS[k]]
            e = s + d / np.linalg.norm(d) * 0.022
        specs.append((np.asarray(s, float), np.asarray(e, float), radius[k], int(segs[k])))
    return specs


def ring_counts(specs, target):
    """Rings per capsule (>=2) so that sum(segs*rings) == target exactly."""
    lengths = np.array([np.linalg.norm(e - s) for s, e, _, _ in specs])
    segs = np.array([sp[3] for sp in specs])
    dens = 1.0
    for _ in range(60):   # find a density that leaves a small positive deficit
        rings = np.maximum(2, np.floor(lengths * dens * 100).astype(int))
        if target - (segs * rings).sum() < 200:
            break
        dens *= 1.05
    while (segs * rings).sum() > target:
        rings[np.argmax(rings)] -= 1
    coins = sorted(set(segs.tolist()))

    def change(deficit):            # coin change: fewest extra rings that add exactly `deficit` vertices
        best = [None] * (deficit + 1)
        best[0] = []
        for v in range(1, deficit + 1):
            for c in coins:
                if c <= v and best[v - c] is not None and (best[v] is None or len(best[v - c]) + 1 < len(best[v])):
                    best[v] = best[v - c] + [c]
        return best[deficit]

    while change(target - int((segs * rings).sum())) is None:
        rings[np.argmax(rings)] -= 1
    deficit = target - int((segs * rings).sum())
    best = {deficit: change(deficit)}
    for c in best[deficit]:
        cand = np.where(segs == c)[0]
        rings[cand[np.argmin(rings[cand] / np.maximum(lengths[cand], 1e-3))]] += 1
    assert (segs * rings).sum() == target
    return rings


def build_mesh(J):
    specs = capsule_specs(J)
    rings = ring_counts(specs, N_VERTS - 2 * N_JOINTS)     # 2 cap-centre vertices per capsule
    verts, faces, owner, tparam, first_ring, alt = [], [], [], [], [], []
    for k, ((s, e, r, n), nr) in enumerate(zip(specs, rings, strict=True)):
        a = e - s
        L = np.linalg.norm(a)
        a = a / L
        ref = np.array([0, 0, 1.0]) if abs(a[2]) < 0.9 else np.array([1.0, 0, 0])
        u = np.cross(a, ref)
        u /= np.linalg.norm(u)
        v = np.cross(a, u)
        base = len(verts)
        th = 2 * np.pi * np.arange(n) / n
        for t in np.linspace(0, 1, nr):
            c = s + a * L * t
            for j in range(n):
                verts.append(c + r * (np.cos(th[j]) * u + np.sin(th[j]) * v))
                owner.append(k)
                tparam.append(t)
        first_ring.append(np.arange(base, base + n))
        cs, ce = len(verts), len(verts) + 1
        verts.extend([s - a * r * 0.6, e + a * r * 0.6])
        owner.extend([k, k])
        tparam.extend([0.0, 1.0])

        def idx(i: int, j: int, base: int = base, n: int = n) -> int:
            return base + i * n + (j % n)

        for i in range(nr - 1):
            for j in range(n):
                faces.append((idx(i, j), idx(i, j + 1), idx(i + 1, j)))
                faces.append((idx(i + 1, j), idx(i, j + 1), idx(i + 1, j + 1)))
                if k in (0, 3, 6, 9):
                    alt.append((idx(i, j), idx(i, j + 1), idx(i + 1, j + 1)))
        for j in range(n):
            faces.append((cs, idx(0, j + 1), idx(0, j)))
            faces.append((ce, idx(nr - 1, j), idx(nr - 1, j + 1)))
    verts, faces = np.array(verts), np.array(faces, dtype=np.int64)
    owner, tparam = np.array(owner), np.array(tparam)
    # filler: the other diagonal of some torso quads (valid, overlapping triangles) -> exactly 20908 faces
    need = N_FACES - len(faces)
    assert 0 <= need <= len(alt), (need, len(alt))
    faces = np.concatenate([faces, np.array(alt[:need], dtype=np.int64).reshape(-1, 3)])
    # orient every face outward (away from its capsule's axis segment)
    sp = np.array([specs[k][0] for k in owner[faces[:, 0]]])
    ep = np.array([specs[k][1] for k in owner[faces[:, 0]]])
    cen = verts[faces].mean(1)
    d = ep - sp
    t = np.clip(((cen - sp) * d).sum(1) / (d * d).sum(1), 0, 1)
    out = cen - (sp + d * t[:, None])
    nrm = np.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]])
    flip = (nrm * out).sum(1) < 0
    faces[flip] = faces[flip][:, [0, 2, 1]]
    assert verts.shape == (N_VERTS, 3) and faces.shape == (N_FACES, 3)
    return verts, faces, owner, tparam, first_ring, specs


# iBUG 68-point markup points 17-67 (SMPL-X's static landmarks, in order) on an average face: x the subject's
# left, y up, centimetres from the midpoint of the eyes (MediaPipe's canonical face model at
# `body.face_landmarks.MEDIAPIPE_IBUG`, rounded).
IBUG_FACE_CM = np.array([
    (-5.7, 1.6), (-5.0, 2.1), (-4.0, 2.5), (-2.8, 2.4), (-1.4, 2.4),  # right brow, outer to inner
    (1.4, 2.4), (2.8, 2.4), (4.0, 2.5), (5.0, 2.1), (5.7, 1.6),  # left brow
    (0.0, -0.2), (0.0, -0.9), (0.0, -2.3), (0.0, -3.1),  # nose bridge to tip
    (-1.4, -4.4), (-0.6, -4.7), (0.0, -4.8), (0.6, -4.7), (1.4, -4.4),  # lower nose
    (-4.5, 0.0), (-3.7, 0.3), (-2.7, 0.3), (-1.9, -0.1), (-2.7, -0.3), (-3.7, -0.3),  # right eye
    (1.9, -0.1), (2.7, 0.3), (3.7, 0.3), (4.5, 0.0), (3.7, -0.3), (2.7, -0.3),  # left eye
    (-2.5, -7.0), (-1.4, -6.2), (-0.7, -6.0), (0.0, -6.1), (0.7, -6.0), (1.4, -6.2), (2.5, -7.0),  # upper lip
    (1.8, -7.5), (0.7, -8.0), (0.0, -8.0), (-0.7, -8.0), (-1.8, -7.5),  # lower lip
    (-2.2, -6.9), (-1.0, -6.7), (0.0, -6.7), (1.0, -6.7), (2.2, -6.9),  # inner lips: upper
    (1.1, -7.1), (0.0, -7.2), (-1.1, -7.1),  # inner lower lip
])
LOWER_LIP = np.r_[55:60, 65:68] - 17  # on the jaw: these open with it
EYE_LEVEL_M = 0.69  # on the head capsule (joint 15), which runs from y 0.60 to 0.77


def face_landmark_embedding(verts: np.ndarray, faces: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(51,) faces and (51, 3) barycentric weights of `IBUG_FACE_CM` put on the front of the head (the lower lip
    on the jaw's capsule): for each point the face whose centroid is nearest, and the point's projection on it."""
    x, y = IBUG_FACE_CM.T * 0.01
    targets = np.stack([x, EYE_LEVEL_M + y, 0.03 + np.sqrt(0.095**2 - x**2)], axis=1)  # head radius, axis z
    face_owner = owner[faces[:, 0]]
    idx, bary = np.zeros(N_LMK, np.int64), np.zeros((N_LMK, 3))
    for k, target in enumerate(targets):
        candidates = np.where(face_owner == (22 if k in LOWER_LIP else 15))[0]
        corners = verts[faces[candidates]]
        best = candidates[np.argmin(np.linalg.norm(corners.mean(1) - target, axis=1))]
        a, b, c = verts[faces[best]]
        # barycentric coordinates of the target's projection onto the face's plane, clipped into the face
        weights = np.linalg.lstsq(np.stack([a - c, b - c], axis=1), target - c, rcond=None)[0]
        weights = np.clip(np.append(weights, 1.0 - weights.sum()), 0.0, None)
        idx[k], bary[k] = best, weights / weights.sum()
    return idx, bary


def synthetic_smplx_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """The arrays of one synthetic SMPL-X model file, by the key names smplx reads."""
    rng = np.random.default_rng(seed)

    J = joint_positions()
    verts, faces, owner, tparam, first_ring, specs = build_mesh(J)

    # --- skinning weights: own joint, blended with parent near the joint
    W = np.zeros((N_VERTS, N_JOINTS))
    W[np.arange(N_VERTS), owner] = 1.0
    par = np.array([PARENTS[k] for k in owner])
    blend = np.where((par >= 0) & (tparam < 0.25), 0.5 * (1 - tparam / 0.25), 0.0)
    W[np.arange(N_VERTS), owner] -= blend
    has_par = par >= 0
    W[np.arange(N_VERTS)[has_par], par[has_par]] += blend[has_par]

    # --- joint regressor: joint k = mean of the first ring of capsule k (exact on the template)
    JR = np.zeros((N_JOINTS, N_VERTS))
    for k, ringv in enumerate(first_ring):
        JR[k, ringv] = 1.0 / len(ringv)

    # --- put smplx's fixed keypoint vertex ids on the matching body parts
    def on(k):
        return np.where(owner == k)[0]

    def pick(k, key):
        ids = on(k)
        return ids[np.argmax(key(verts[ids]))]

    def head_mid(p: np.ndarray) -> np.ndarray:
        return p[:, 2] - 5 * np.abs(p[:, 1] - 0.66)

    chosen = {
        'nose': pick(15, head_mid), 'leye': pick(23, lambda p: p[:, 2]), 'reye': pick(24, lambda p: p[:, 2]),
        'lear': pick(15, lambda p: p[:, 0] - 5 * np.abs(p[:, 1] - 0.66)),
        'rear': pick(15, lambda p: -p[:, 0] - 5 * np.abs(p[:, 1] - 0.66)),
        'LBigToe': pick(10, lambda p: p[:, 2] - np.abs(p[:, 0] - 0.09)),
        'LSmallToe': pick(10, lambda p: p[:, 2] + 0.5 * p[:, 0]),
        'LHeel': pick(7, lambda p: -p[:, 1] - p[:, 2]),
        'RBigToe': pick(11, lambda p: p[:, 2] - np.abs(p[:, 0] + 0.09)),
        'RSmallToe': pick(11, lambda p: p[:, 2] - 0.5 * p[:, 0]),
        'RHeel': pick(8, lambda p: -p[:, 1] - p[:, 2]),
    }
    tips = {'index': 27, 'middle': 30, 'pinky': 33, 'ring': 36, 'thumb': 39}
    for f, k in tips.items():
        chosen['l' + f] = pick(k, lambda p: p[:, 0])
        chosen['r' + f] = pick(k + 15, lambda p: -p[:, 0])
    perm = np.arange(N_VERTS)              # perm[new] = old
    pos = np.arange(N_VERTS)               # pos[old] = new
    for name, old in chosen.items():
        T = VERTEX_IDS[name]
        a, b = pos[old], T
        oa, ob = perm[a], perm[b]
        perm[a], perm[b] = ob, oa
        pos[ob], pos[oa] = a, b
    inv = pos
    verts, owner, tparam, W = verts[perm], owner[perm], tparam[perm], W[perm]
    JR = JR[:, perm]
    faces = inv[faces]
    for name, vid in VERTEX_IDS.items():
        assert np.allclose(verts[vid], verts[inv[chosen[name]]])

    # --- shape space: 300 body shape + 100 expression directions (metres per unit coefficient)
    shapedirs = np.zeros((N_VERTS, 3, N_SHAPE + N_EXPR))
    centred = verts - verts.mean(0)
    shapedirs[:, :, 0] = centred * np.array([0.0, 0.06, 0.0])          # height
    cap_axis_pt = np.zeros_like(verts)
    for k, (s, e, _, _) in enumerate(specs):
        m = owner == k
        d = e - s
        t = np.clip(((verts[m] - s) @ d) / (d @ d), 0, 1)
        cap_axis_pt[m] = s + t[:, None] * d
    radial = verts - cap_axis_pt
    shapedirs[:, :, 1] = radial * 0.15                                 # girth
    smooth_basis = rng.normal(size=(N_JOINTS, 3, N_SHAPE - 2))         # per-part smooth offsets
    per_part = (W @ smooth_basis.reshape(N_JOINTS, -1)).reshape(N_VERTS, 3, -1)
    shapedirs[:, :, 2:N_SHAPE] = per_part * (0.004 / np.arange(1, N_SHAPE - 1))
    face = np.isin(owner, [15, 22, 23, 24]) & (verts[:, 2] > 0.03)
    expr = rng.normal(size=(N_VERTS, 3, N_EXPR)) * 0.002 / np.sqrt(np.arange(1, N_EXPR + 1))
    shapedirs[:, :, N_SHAPE:] = expr * face[:, None, None]

    # --- pose correctives: small, local to the vertices that the rotated joint drives
    n_pose = 9 * (N_JOINTS - 1)
    posedirs = rng.normal(size=(N_VERTS, 3, N_JOINTS - 1, 9)) * 5e-4
    posedirs *= W[:, None, 1:, None]
    posedirs = posedirs.reshape(N_VERTS, 3, n_pose)

    # --- hands PCA: orthonormal 45x45 components, small relaxed-curl mean
    def ortho():
        q, r = np.linalg.qr(rng.normal(size=(45, 45)))
        return q * np.sign(np.diag(r))
    hands_mean = np.tile([0.0, 0.0, 0.15], 15)   # slight curl about each finger joint's z

    # --- static face landmarks and the neck-rotation contour look-up table
    head_faces = np.where(np.isin(owner[faces[:, 0]], [15]))[0]
    fc = verts[faces[head_faces]].mean(1)
    lmk_faces_idx, lmk_bary = face_landmark_embedding(verts, faces, owner)
    lower = head_faces[np.argsort(fc[:, 1])][: 8 * N_DYN_LMK]
    dyn_idx = np.stack([np.sort(rng.choice(lower, N_DYN_LMK, replace=False)) for _ in range(N_DYN_ROT)])
    dyn_bary = rng.dirichlet(np.ones(3), size=(N_DYN_ROT, N_DYN_LMK))

    kintree = np.array([PARENTS, list(range(N_JOINTS))], dtype=np.int64)
    kintree[0, 0] = 4294967295    # uint32(-1) as in SMPL-family files; smplx sets parents[0] = -1

    data = dict(
        v_template=verts.astype(np.float64),
        f=faces.astype(np.uint32),
        shapedirs=shapedirs.astype(np.float64),
        posedirs=posedirs.astype(np.float64),
        J_regressor=JR.astype(np.float64),
        weights=W.astype(np.float64),
        kintree_table=kintree,
        hands_componentsl=ortho(), hands_componentsr=ortho(),
        hands_meanl=hands_mean.copy(), hands_meanr=hands_mean * np.tile([1, -1, -1], 15),
        lmk_faces_idx=lmk_faces_idx.astype(np.int64),
        lmk_bary_coords=lmk_bary.astype(np.float64),
        dynamic_lmk_faces_idx=dyn_idx.astype(np.int64),
        dynamic_lmk_bary_coords=dyn_bary.astype(np.float64),
    )
    # sanity
    assert np.allclose(W.sum(1), 1) and (W >= 0).all()
    assert np.allclose(JR.sum(1), 1)
    assert np.allclose(JR @ verts, J, atol=1e-9)
    assert faces.min() >= 0 and faces.max() < N_VERTS
    assert (faces[:, [0, 1, 2]] != faces[:, [1, 2, 0]]).all()    # no degenerate triangles
    assert len(np.unique(faces)) == N_VERTS          # every vertex is used by a face

    return data


def write_synthetic_smplx(folder: Path, genders: tuple[str, ...] = ("neutral",), seed: int = 0) -> Path:
    """Write `folder/smplx/SMPLX_<GENDER>.npz` for each gender (each a different random shape space
    over the same skeleton) and return `folder`, the layout `paths.body_models` expects."""
    from .smplx_model import smplx_model_path  # torch + smplx: only needed when writing

    for k, gender in enumerate(genders):
        path = smplx_model_path(folder, gender)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **synthetic_smplx_arrays(seed + k))
    return Path(folder)
