"""Every flag of mmseg 0.30's tools/train.py (issue 11, item 6): `segnb train` takes it with mmseg's meaning, or
refuses it with a one-line error naming the replacement. The error texts are pinned here word for word."""
import ast, os, subprocess
from pathlib import Path
import pytest
from tiny_data import make_tiny_dataset, train_cmd, segnb_env, losses
from mmseg_venv import needs_mmseg, VENV
from segnb.cli import build_parser, check_flags, rank_seed, TRAIN_FLAGS, main

TORCHRUN = 'torchrun --nproc_per_node N -m segnb train CONFIG ... --launcher pytorch'

def _args(*argv): return build_parser().parse_args(['train', *argv])

def _refusal(*argv):
    with pytest.raises(ValueError) as e: check_flags(_args(*argv))
    return str(e.value)

def test_gpus_refused_with_torchrun():
    assert _refusal('--gpus', '2') == ('--gpus is not supported (mmseg 0.x deprecated it and trained on one GPU anyway): '
                                       f'use --gpu-id ID for one GPU; for N GPUs run {TORCHRUN}')

def test_gpu_ids_refused_naming_the_first_id():
    assert _refusal('--gpu-ids', '3', '1') == ('--gpu-ids is not supported (mmseg 0.x deprecated it and used only the '
                                               f'first id): use --gpu-id 3 for one GPU; for N GPUs run {TORCHRUN}')

def test_mpi_launcher_refused():
    assert _refusal('--launcher', 'mpi') == (f'--launcher mpi is not supported: start one process per GPU with {TORCHRUN} '
                                             '(or under srun with --launcher slurm)')

def test_options_and_cfg_options_together_refused():
    assert _refusal('--options', 'a=1', '--cfg-options', 'b=2') == (
        '--options and --cfg-options cannot both be given: --options is deprecated in favor of --cfg-options; '
        'put every KEY=VALUE after --cfg-options')

def test_options_is_cfg_options_with_a_deprecation_warning():
    with pytest.warns(UserWarning, match=r'^--options is deprecated in favor of --cfg-options \(as in mmseg 0.x\); '
                                         r'it is used as --cfg-options$'):
        args = check_flags(_args('--options', 'runner.max_iters=3', 'model.decode_head.num_classes=5'))
    assert args.cfg_options == {'runner.max_iters': 3, 'model.decode_head.num_classes': 5} and args.options is None

def test_local_rank_becomes_LOCAL_RANK_only_when_unset(monkeypatch):
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    check_flags(_args('--local_rank', '3'))
    assert os.environ['LOCAL_RANK'] == '3'
    monkeypatch.setenv('LOCAL_RANK', '1')
    check_flags(_args('--local-rank', '5'))          # torch>=2 launch spells it with a dash
    assert os.environ['LOCAL_RANK'] == '1'

def test_diff_seed_adds_the_rank(monkeypatch):
    import segnb.cli
    monkeypatch.setattr(segnb.cli, 'get_dist_info', lambda: (3, 4))
    assert (rank_seed(10), rank_seed(10, diff_seed=True)) == (10, 13)
    assert _args('--diff_seed').diff_seed and _args('--diff-seed').diff_seed and not _args().diff_seed

def test_same_meaning_flags_parse_as_mmseg():
    a = _args('c.py', '--work-dir', 'w', '--load-from', 'l.pth', '--resume-from', 'r.pth', '--no-validate', '--gpu-id', '1',
              '--seed', '7', '--deterministic', '--auto-resume', '--launcher', 'pytorch')
    assert (a.config, a.work_dir, a.load_from, a.resume_from, a.no_validate, a.gpu_id, a.seed, a.deterministic,
            a.auto_resume, a.launcher) == ('c.py', 'w', 'l.pth', 'r.pth', True, 1, 7, True, True, 'pytorch')
    d = _args()
    assert (d.gpu_id, d.seed, d.launcher, d.local_rank, d.cfg_options, d.options) == (0, None, 'none', 0, {}, None)

def test_refusal_from_the_command_line(capsys):
    "Through `main`: exit status 1 and the one line, before any config is read."
    assert main(['train', 'no_such_config.py', '--gpus', '2']) == 1
    assert capsys.readouterr().err.strip() == ('segnb train: error: --gpus is not supported (mmseg 0.x deprecated it '
                                               f'and trained on one GPU anyway): use --gpu-id ID for one GPU; for N GPUs run {TORCHRUN}')

def test_options_trains_and_diff_seed_logs_the_seed(tmp_path):
    "`--options` really reaches the config (1 iteration), warned once; `--diff_seed` in one process keeps the seed."
    root = make_tiny_dataset(tmp_path / 'd')
    cmd = train_cmd(tmp_path / 'run', root, '--no-validate', '--diff_seed', options=['runner.max_iters=1'])
    cmd[cmd.index('--cfg-options')] = '--options'
    r = subprocess.run(cmd, env=segnb_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stderr.count('UserWarning: --options is deprecated in favor of --cfg-options') == 1
    assert 'Set random seed to 0, deterministic: True' in r.stderr + r.stdout
    assert sorted(losses(tmp_path / 'run')) == [1]

def _mmseg_train_flags():
    "The option strings of mmseg 0.30's tools/train.py, read from its source (no import)."
    src = Path(VENV, 'lib', 'python3.11', 'site-packages', 'mmseg', '.mim', 'tools', 'train.py').read_text()
    flags = []
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Call) and getattr(node.func, 'attr', '') == 'add_argument':
            flags.append(node.args[0].value)
    return flags

@needs_mmseg
def test_every_mmseg_train_flag_is_listed_and_parsed():
    mm = _mmseg_train_flags()
    print(mm)
    assert sorted(mm) == sorted(TRAIN_FLAGS)
    parser = build_parser()._subparsers._group_actions[0].choices['train']
    ours = {s for a in parser._actions for s in (a.option_strings or [a.dest])}
    assert set(mm) <= ours

def test_val_workflow_phase_gets_the_val_set(tmp_path):
    "mmseg: with workflow [('train', 1), ('val', 1)], train.py adds the val set (through the training pipeline)."
    root = make_tiny_dataset(tmp_path / 'd')
    cmd = train_cmd(tmp_path / 'run', root, '--no-validate',
                    options=["workflow=[('train',1),('val',1)]", 'runner.max_iters=2', 'log_config.interval=1'])
    r = subprocess.run(cmd, env=segnb_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "workflow: [('train', 1), ('val', 1)], max: 2 iters" in r.stderr and 'loss_val' in r.stderr
