#!/usr/bin/env python3
"""Tallies scripts/gate-pairs.sh: per condition and across (a quiet base against
a busy new run, as a nightly baseline made on a quiet night meets a busy one),
how many A/A, planted and slowed pairs compare flags, and by which metric; how
far a stage's counts move within a run and across runs.
  python3 scripts/gate-pairs.py results/gate-pairs"""
import json, sys, statistics as st, subprocess, os
root = sys.argv[1] if len(sys.argv) > 1 else 'results/gate-pairs'
B=os.path.join(root, 'quiet', 'aiway-stress') if os.path.exists(os.path.join(root, 'quiet', 'aiway-stress')) else os.path.join(root, 'busy', 'aiway-stress')
def load(p): return json.load(open(p))
def tps(d): return [r['metrics']['throughput_tps'] for r in d['scenarios'][0]['repetitions']]
def foreign(d): return [r['metrics'].get('foreign_cpu_share',0) for r in d['scenarios'][0]['repetitions']]
def counts(d,m): return [r['metrics'][m] for r in d['scenarios'][0]['repetitions'] if m in r['metrics']]
def cmp(a,b):
    out=subprocess.run([B,'compare',a,b,'--format','json'],capture_output=True,text=True)
    return out.returncode, json.loads(out.stdout)
def flagged(c, metric):
    for m in c['scenarios'][0]['metrics']:
        if m['metric']==metric: return m['verdict']
    return None
def summarize(label, basedir, newdir, n=20):
    res={'aa':[], 'plant':[], 'slow':[]}
    for i in range(1,n+1):
        base=f'{basedir}/base{i}.json'
        for k in res:
            code,c=cmp(base,f'{newdir}/{k}{i}.json')
            res[k].append((code, flagged(c,'throughput_tps'), flagged(c,'instructions_per_token_conductor')))
    print(f'== {label}')
    for k,v in res.items():
        exits=sum(1 for x in v if x[0]==1)
        thr=sum(1 for x in v if x[1]=='regressed'); ins=sum(1 for x in v if x[2]=='regressed')
        print(f'  {k}: exit 1 in {exits}/{len(v)}; throughput regressed {thr}; conductor instructions regressed {ins}; throughput verdicts {sorted(set(x[1] for x in v))}')
def spreads(d):
    worst=0; n=0
    for f in sorted(os.listdir(d)):
        if not f.endswith('.json') or not f.startswith(('base', 'aa', 'plant', 'slow')): continue
        j=load(f'{d}/{f}')
        for m in ['instructions_per_token_backend','instructions_per_token_conductor','instructions_per_token_surface']:
            v=counts(j,m)
            if len(v)>=2: worst=max(worst,(max(v)-min(v))/st.median(v)); n+=1
    return worst, n
for cond in ['busy','quiet']:
    d=os.path.join(root, cond)
    if not os.path.exists(f'{d}/slow20.json'): continue
    w,n=spreads(d); print(f'{cond}: count spread within a run (3 counts) at most {w*100:.5f} % over {n} stage-runs')
    print(f'{cond}: base tps median {st.median([st.median(tps(load(f"{d}/base{i}.json"))) for i in range(1,21)])/1e6:.2f} M; slow {st.median([st.median(tps(load(f"{d}/slow{i}.json"))) for i in range(1,21)])/1e6:.2f} M; foreign base {st.median([st.median(foreign(load(f"{d}/base{i}.json"))) for i in range(1,21)])*100:.0f} %, slow {st.median([st.median(foreign(load(f"{d}/slow{i}.json"))) for i in range(1,21)])*100:.0f} %')
    bc=[st.median(counts(load(f'{d}/base{i}.json'),'instructions_per_token_conductor')) for i in range(1,21)]
    pc=[st.median(counts(load(f'{d}/plant{i}.json'),'instructions_per_token_conductor')) for i in range(1,21)]
    print(f'{cond}: conductor count across 20 base runs {min(bc):.4f}..{max(bc):.4f}; planted {min(pc):.4f}..{max(pc):.4f}')
    summarize(f'{cond} base vs {cond} new', d, d)
if all(os.path.exists(os.path.join(root, c, 'slow20.json')) for c in ('quiet', 'busy')):
    summarize('quiet base (the nightly baseline) vs busy new', os.path.join(root, 'quiet'), os.path.join(root, 'busy'))
