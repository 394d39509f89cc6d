"""Open3D drawing: :class:`SceneContent` → geometry of an ``Open3DScene``, and headless rendering to images.

Headless environment (probed on Debian 12, Open3D 0.20, no display, no GPU): nothing needs to be set.
``open3d.visualization.rendering.OffscreenRenderer`` prints "GLFWWindowSystem: X11 GLFW init failed ...
Falling back to headless mode", then Filament picks its Vulkan backend on Mesa's software Vulkan driver
(lavapipe, "llvmpipe (LLVM 15)"; Debian packages ``libvulkan1 mesa-vulkan-drivers libegl1 libgl1``).
``EGL_PLATFORM=surfaceless`` is not needed. What we found and rely on:

* the renderer is bound to the thread that created it: calling it from another thread aborts the whole
  process (Filament "This thread has not been adopted"), so every Open3D call stays on one thread (the main
  thread in :mod:`bridge.viewer.app`); the pipeline and the OSC receiver only hand data over;
* ``OffscreenRenderer.setup_camera(fov, centre, eye, up)`` derives near/far planes from the scene bounds and
  can clip everything away; we set the projection explicitly (:func:`apply_camera`);
* shadow maps are what makes software rendering slow: with them a 640x480 frame of two skeletons took 2.4 s
  of CPU, without them 0.07 s; :func:`configure_view` turns shadows, ambient occlusion and anti-aliasing off;
* post-processing stays on (colours go through Filament's tone mapping: a little washed out, hues kept);
* all lines share one width (:data:`LINE_WIDTH_PX`): mixing widths with meshes in one scene cost seconds per
  frame;
* the first frame of a renderer differs slightly from the next renders of the same scene, so the first one is
  rendered twice (deterministic images for golden-file tests);
* several renderers one after another in one process work, but two alive at once abort the process when one
  is released: :class:`OffscreenView` refuses to open a second one;
* avatar meshes go in as tensor ``TriangleMesh`` es (normals from Open3D's ``compute_vertex_normals``): a legacy
  indexed ``TriangleMesh`` of 19 k vertices sometimes took 9 to 27 s to render on lavapipe, the tensor one takes
  60 ms steadily at 640x480; geometry cannot be updated in place (``update_geometry`` takes point clouds only),
  so each frame replaces the meshes, and their textures are uploaded again (about 15 ms per 2048² texture:
  hence :data:`bridge.avatar.mesh.MAX_TEXTURE_PX`); each texture becomes an Open3D image once (cached by key).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bridge.viewer.hud import draw_hud
from bridge.viewer.scene import BACKGROUND, CameraSpec, LineLayer, MeshLayer, SceneContent, SphereLayer

UInt8Image = npt.NDArray[np.uint8]

#: One line width (pixels) for every line layer: layers of different widths together with meshes made each
#: software-rendered frame cost 1 to 3 s of CPU instead of 0.06 s (measured, Open3D 0.20 on lavapipe).
LINE_WIDTH_PX = 3.0

_SPHERE_CACHE: dict[tuple[float, int], tuple[np.ndarray, np.ndarray]] = {}


def _unit_sphere(radius_m: float, resolution: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """(V, 3) vertices and (F, 3) triangles of a sphere of ``radius_m`` at the origin (cached)."""
    key = (radius_m, resolution)
    if key not in _SPHERE_CACHE:
        import open3d as o3d

        mesh = o3d.geometry.TriangleMesh.create_sphere(radius=radius_m, resolution=resolution)
        _SPHERE_CACHE[key] = (np.asarray(mesh.vertices).copy(), np.asarray(mesh.triangles).copy())
    return _SPHERE_CACHE[key]


def line_geometry(layer: LineLayer):  # type: ignore[no-untyped-def]
    """An ``open3d.geometry.LineSet`` for ``layer``."""
    import open3d as o3d

    ls = o3d.geometry.LineSet(
        o3d.utility.Vector3dVector(np.ascontiguousarray(layer.points_m, dtype=np.float64)),
        o3d.utility.Vector2iVector(np.ascontiguousarray(layer.lines, dtype=np.int32)),
    )
    ls.colors = o3d.utility.Vector3dVector(np.ascontiguousarray(layer.colors, dtype=np.float64))
    return ls


def sphere_geometry(layer: SphereLayer):  # type: ignore[no-untyped-def]
    """One ``open3d.geometry.TriangleMesh`` holding a sphere per centre, coloured per vertex."""
    import open3d as o3d

    verts, tris = _unit_sphere(layer.radius_m)
    n = len(layer.centres_m)
    all_v = (verts[None, :, :] + np.asarray(layer.centres_m)[:, None, :]).reshape(-1, 3)
    all_t = (tris[None, :, :] + (np.arange(n) * len(verts))[:, None, None]).reshape(-1, 3)
    colors = np.repeat(np.asarray(layer.colors, dtype=np.float64), len(verts), axis=0)
    mesh = o3d.geometry.TriangleMesh(
        o3d.utility.Vector3dVector(all_v), o3d.utility.Vector3iVector(all_t.astype(np.int32))
    )
    mesh.vertex_colors = o3d.utility.Vector3dVector(colors)
    return mesh


def mesh_geometry(layer: MeshLayer):  # type: ignore[no-untyped-def]
    """An ``open3d.t.geometry.TriangleMesh`` for ``layer`` (vertex normals computed; texture coordinates when it
    has a texture, v flipped from glTF's top-left origin to Open3D's bottom-left)."""
    import open3d as o3d

    mesh = o3d.t.geometry.TriangleMesh()
    tensor: Any = o3d.core.Tensor  # (Open3D's stubs do not know numpy arrays)
    mesh.vertex.positions = tensor(np.ascontiguousarray(layer.vertices_m, dtype=np.float32))
    mesh.triangle.indices = tensor(np.ascontiguousarray(layer.triangles, dtype=np.int32))
    mesh.compute_vertex_normals()
    if layer.texture is not None and layer.uv is not None:
        uv = np.array(layer.uv, dtype=np.float32)
        uv[:, 1] = 1.0 - uv[:, 1]
        mesh.vertex.texture_uvs = tensor(uv)
    return mesh


class _Textures:
    """Open3D images of the meshes' textures, made once per key."""

    def __init__(self) -> None:
        self._images: dict[str, Any] = {}

    def get(self, layer: MeshLayer):  # type: ignore[no-untyped-def]
        import open3d as o3d

        if layer.texture is None:
            return None
        key = layer.texture_key or layer.name
        if key not in self._images:
            image: Any = o3d.geometry.Image
            self._images[key] = image(np.ascontiguousarray(layer.texture))
        return self._images[key]


def _surface_material(layer: MeshLayer, texture) -> Any:  # type: ignore[no-untyped-def]
    from open3d.visualization import rendering

    mat = rendering.MaterialRecord()
    see_through = layer.color[3] < 0.999 or (layer.texture is not None and layer.texture.shape[2] == 4)
    mat.shader = "defaultLitTransparency" if see_through else "defaultLit"
    mat.has_alpha = see_through
    mat.base_color = [float(c) for c in layer.color]
    mat.base_roughness = 0.7
    if texture is not None:
        mat.albedo_img = texture
    return mat


def _line_material(width_px: float):  # type: ignore[no-untyped-def]
    from open3d.visualization import rendering

    mat = rendering.MaterialRecord()
    mat.shader = "unlitLine"
    mat.line_width = float(width_px)
    return mat


def _mesh_material():  # type: ignore[no-untyped-def]
    from open3d.visualization import rendering

    mat = rendering.MaterialRecord()
    mat.shader = "defaultUnlit"
    return mat


def configure_view(view) -> None:  # type: ignore[no-untyped-def]
    """Turn off what costs seconds per frame on a software renderer and adds nothing to line drawings:
    shadow maps (measured: 2.4 s of CPU per 640x480 frame with ~100 spheres, 0.07 s without), ambient
    occlusion and anti-aliasing."""
    from open3d.visualization import rendering

    view.set_shadowing(False, rendering.View.ShadowType.PCF)
    view.set_ambient_occlusion(False)
    view.set_antialiasing(False)


class SceneUpdater:
    """Keeps an ``open3d.visualization.rendering.Open3DScene`` showing the latest :class:`SceneContent`.

    Layers are replaced by name each frame; the floor grid, which never changes, is added once. Use from the
    thread that owns the scene's renderer only.
    """

    def __init__(self, scene) -> None:  # type: ignore[no-untyped-def]
        self.scene = scene
        self._names: set[str] = set()
        self._static: set[str] = set()
        self._textures = _Textures()
        scene.set_background(list(BACKGROUND))
        configure_view(scene.view)

    def update(self, content: SceneContent) -> None:
        wanted: set[str] = set()
        for line in content.lines:
            wanted.add(line.name)
            static = line.name.startswith("grid")
            if static and line.name in self._static:
                continue
            if line.name in self._names:
                self.scene.remove_geometry(line.name)
            if len(line.lines):
                self.scene.add_geometry(line.name, line_geometry(line), _line_material(LINE_WIDTH_PX))
                self._names.add(line.name)
                if static:
                    self._static.add(line.name)
        for sph in content.spheres:
            wanted.add(sph.name)
            if sph.name in self._names:
                self.scene.remove_geometry(sph.name)
            if len(sph.centres_m):
                self.scene.add_geometry(sph.name, sphere_geometry(sph), _mesh_material())
                self._names.add(sph.name)
        for layer in content.meshes:
            wanted.add(layer.name)
            if layer.name in self._names:
                self.scene.remove_geometry(layer.name)
            if len(layer.triangles):
                mat = _surface_material(layer, self._textures.get(layer))
                self.scene.add_geometry(layer.name, mesh_geometry(layer), mat)
                self._names.add(layer.name)
        for name in list(self._names - wanted):  # layers that disappeared (e.g. no person)
            self.scene.remove_geometry(name)
            self._names.discard(name)
            self._static.discard(name)
        # Names kept but not re-added this frame are in the scene only if static.
        self._names = {n for n in self._names if n in wanted}


def apply_camera(camera_obj, spec: CameraSpec, width: int, height: int) -> None:  # type: ignore[no-untyped-def]
    """Set an Open3D ``rendering.Camera`` from ``spec`` (explicit projection: see the module notes)."""
    from open3d.visualization import rendering

    camera_obj.set_projection(
        spec.fov_deg, width / max(height, 1), spec.near_m, spec.far_m, rendering.Camera.FovType.Vertical
    )
    camera_obj.look_at(list(spec.centre_m), list(spec.eye_m), list(spec.up))


class OffscreenView:
    """Headless renderer of :class:`SceneContent` to (H, W, 3) uint8 RGB images (CPU, see module notes).

    Create, use and close it on one thread; one at a time per process.
    """

    _open = False

    def __init__(self, width: int = 640, height: int = 480, camera: CameraSpec | None = None) -> None:
        from open3d.visualization import rendering

        if OffscreenView._open:
            raise RuntimeError("an OffscreenView is already open in this process; close it first (Open3D aborts "
                               "the process when two offscreen renderers exist)")  # fmt: skip
        OffscreenView._open = True
        self.width, self.height = int(width), int(height)
        self.camera = camera or CameraSpec()
        self._renderer: Any = rendering.OffscreenRenderer(self.width, self.height)
        self._updater = SceneUpdater(self._renderer.scene)
        self._warm = False
        apply_camera(self._renderer.scene.camera, self.camera, self.width, self.height)

    def set_camera(self, camera: CameraSpec) -> None:
        self.camera = camera
        apply_camera(self._renderer.scene.camera, camera, self.width, self.height)

    def render(self, content: SceneContent, hud: bool = True) -> UInt8Image:
        """The scene as an (H, W, 3) uint8 RGB image, with the status text and the legend when ``hud``."""
        self._updater.update(content)
        if not self._warm:  # the very first frame comes out slightly different (renderer history): redo it
            self._renderer.render_to_image()
            self._warm = True
        image = np.asarray(self._renderer.render_to_image()).copy()
        return draw_hud(image, content.status, content.legend) if hud else image

    def close(self) -> None:
        # Dropping the last reference releases Filament's resources (there is no explicit close in 0.20).
        if self._renderer is not None:
            self._updater = None  # type: ignore[assignment]
            self._renderer = None
            OffscreenView._open = False

    def __enter__(self) -> OffscreenView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_png(path: Path | str, image: UInt8Image) -> None:
    """Write an (H, W, 3) uint8 RGB image as PNG (folders are created)."""
    import cv2

    from bridge.core.errors import BridgeError

    p = Path(path)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(p), np.ascontiguousarray(image[:, :, ::-1])):
        raise BridgeError(f"cannot write image {p}; check the folder exists and is writable")


def background_rgb(image: UInt8Image) -> npt.NDArray[np.int64]:
    """The image's background colour as rendered (tone mapping changes it): its most common pixel value."""
    flat = image.reshape(-1, 3).astype(np.int64)
    keys = flat[:, 0] * 65536 + flat[:, 1] * 256 + flat[:, 2]
    values, counts = np.unique(keys, return_counts=True)
    k = int(values[np.argmax(counts)])
    return np.array([k // 65536, (k // 256) % 256, k % 256], dtype=np.int64)


def foreground_mask(image: UInt8Image, threshold: int = 40) -> npt.NDArray[np.bool_]:
    """(H, W) bool: pixels differing from the background colour by more than ``threshold`` (sum of |dRGB|)."""
    bg = background_rgb(image)
    return np.asarray(np.abs(image.astype(np.int64) - bg).sum(axis=2) > threshold)
